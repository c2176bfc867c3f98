import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { NODE_ID } from './nodeId.js';

/**
 * Requests between nodes are signed with the cluster secret: an HMAC-SHA256 over what the request
 * is (purpose, method, path and query, the client's address) and who sent it when. A receiver
 * accepts a signature only within MAX_SKEW_MS of its own clock, so a captured request cannot be
 * replayed later; the body is not covered (it is streamed through), which is why the cluster
 * network must be private (docs/scaling.md). Only nodes have the secret, so only they can make a
 * node believe a client address or answer as a node.
 */

export const HEADER = {
  node: 'x-avatar-cluster-node',
  time: 'x-avatar-cluster-time',
  client: 'x-avatar-cluster-client',
  signature: 'x-avatar-cluster-signature',
} as const;

/** How far a signed request's time may be from the receiver's clock (NTP keeps nodes closer). */
export const MAX_SKEW_MS = 30_000;

export type Signed = { purpose: 'forward' | 'identity'; method: string; path: string };

function mac(secret: string, parts: string[]): string {
  return createHmac('sha256', secret).update(parts.join('\n')).digest('base64url');
}

/** The headers that sign a request from `node` (client: the viewer's address, for forwards). */
export function signRequest(
  secret: string,
  node: string,
  what: Signed,
  client = '',
  now = Date.now(),
): Record<string, string> {
  const time = String(now);
  const signature = mac(secret, [what.purpose, what.method, what.path, node, time, client]);
  return {
    [HEADER.node]: node,
    [HEADER.time]: time,
    ...(client ? { [HEADER.client]: client } : {}),
    [HEADER.signature]: signature,
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const one = (value: string | string[] | undefined) => (typeof value === 'string' ? value : '');

/**
 * The sending node and the client address of a correctly signed, fresh request; undefined when
 * the request is not signed, or not by a node (wrong secret, too old, altered).
 */
export function verifyRequest(
  secret: string | undefined,
  headers: IncomingHttpHeaders,
  what: Signed,
  now = Date.now(),
): { node: string; client: string; signature: string } | undefined {
  const signature = one(headers[HEADER.signature]);
  if (!secret || !signature) return undefined;
  const node = one(headers[HEADER.node]);
  const time = one(headers[HEADER.time]);
  const client = one(headers[HEADER.client]);
  if (!NODE_ID.test(node) || !/^\d{1,15}$/.test(time)) return undefined;
  if (Math.abs(now - Number(time)) > MAX_SKEW_MS) return undefined;
  const expected = mac(secret, [what.purpose, what.method, what.path, node, time, client]);
  return same(signature, expected) ? { node, client, signature } : undefined;
}

/** A node's answer to `/cluster/identity`, bound to the request it answers (its signature). */
export const identityProof = (secret: string, node: string, requestSignature: string) =>
  mac(secret, ['identity-answer', node, requestSignature]);

export const identityProofMatches = (
  secret: string,
  node: string,
  requestSignature: string,
  proof: string,
) => same(proof, identityProof(secret, node, requestSignature));
