import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import { parseSessionId } from '../workers/protocol.js';
import type { ClusterNodes } from './ClusterNodes.js';
import { HEADER, signRequest, verifyRequest } from './signature.js';

/** Not passed on: hop-by-hop headers, and what this node restates (client address, signature). */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  ...Object.values(HEADER),
]);

function passOn(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED.has(name)) out[name] = value;
  }
  return out;
}

/** What may follow a session URL: plain path segments (`/speaking`, `/answer/<key>`, `/audio`). */
const SUB_PATH = /^(\/[A-Za-z0-9_-]+)*\/?(\?.*)?$/;

/** Until the owner's connection is up; then the request may stream for as long as it lasts. */
const CONNECT_TIMEOUT_MS = 3000;
/** A forwarded exchange with no bytes either way this long is given up. */
const IDLE_TIMEOUT_MS = 60_000;

export type ForwardCounts = { forwarded: number; failed: number; unknownNode: number };

/**
 * A session URL whose id names another node is sent to that node and its answer relayed, so a
 * load balancer may send any request anywhere. Mounted before every session route and before
 * any body parser, it works for every method and sub-route of a session (`PATCH`, `DELETE`,
 * `GET`, `…/speaking`, `/streams/:id/answer/:key`, and those added later), streaming the body
 * both ways.
 *
 * - The target is only ever an address the cluster knows for the node the id names
 *   (ClusterNodes); an id naming an unknown node is a 404 without any connection.
 * - The caller's credentials (Authorization, If-Match, the answer key in the URL) go through
 *   unchanged: the owner checks them exactly as for a request it received itself. Nothing is
 *   trusted more because it was forwarded, except the client address, which this node signs
 *   (for the owner's per-client rate limits), together with the method and URL.
 * - A request that was itself forwarded is never forwarded again (no loops).
 * - The owner unreachable (its pod is gone) → 404, like a session that ended: the SDK reconnects
 *   through the load balancer.
 */
export function forwardSessions(options: {
  kind: 'whep' | 'streams';
  cluster: ClusterNodes;
  secret: string | undefined;
  logger: Logger;
  counts: ForwardCounts;
}): RequestHandler {
  const { cluster, secret, logger, counts } = options;
  const agents = {
    http: new Agent({ keepAlive: true, maxSockets: 256 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };
  const prefix = options.kind === 'whep' ? '/whep/sessions/' : '/streams/';
  return (req, res, next) => {
    const id = String(req.params.sessionId);
    const owner = parseSessionId(id)?.node;
    if (owner === undefined || owner === cluster.self || !SUB_PATH.test(req.url)) return next();
    // Only a request from a client is forwarded; one a node forwarded stops here.
    if (req.headers[HEADER.signature] !== undefined) {
      return next(AvatarServerError.sessionNotFound(id));
    }
    const base = cluster.url(owner);
    if (base === undefined || secret === undefined) {
      counts.unknownNode++;
      return next(AvatarServerError.sessionNotFound(id));
    }
    const path = `${prefix}${id}${req.url === '/' ? '' : req.url}`;
    const target = new URL(`${base}${path}`);
    const client = req.ip ?? req.socket.remoteAddress ?? '';
    const signed = signRequest(
      secret,
      cluster.self,
      { purpose: 'forward', method: req.method, path: `${target.pathname}${target.search}` },
      client,
    );
    const https = target.protocol === 'https:';
    const outgoing = (https ? httpsRequest : httpRequest)(target, {
      method: req.method,
      headers: { ...passOn(req.headers), ...signed },
      agent: https ? agents.https : agents.http,
    });
    counts.forwarded++;
    const connecting = setTimeout(
      () => outgoing.destroy(new Error(`no connection in ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    outgoing.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connecting);
      else socket.once('connect', () => clearTimeout(connecting));
    });
    outgoing.setTimeout(IDLE_TIMEOUT_MS, () => outgoing.destroy(new Error('owner idle')));
    outgoing.on('response', (answer) => {
      clearTimeout(connecting);
      res.status(answer.statusCode ?? 502);
      for (const [name, value] of Object.entries(passOn(answer.headers))) {
        if (name !== 'x-request-id') res.setHeader(name, value);
      }
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    outgoing.on('error', (err) => {
      clearTimeout(connecting);
      counts.failed++;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      logger.warn(
        { node: owner, err: err.message },
        'cluster: the node of a session does not answer',
      );
      next(
        new AvatarServerError(
          'session_not_found',
          `no session '${id}': its node does not answer (it stopped); start a new session`,
        ),
      );
    });
    // The client went away: stop the forwarded request too.
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  };
}

/**
 * The client address of a request: the one a node signed when it forwarded the request (the
 * owner's rate limits then count the viewer, not the forwarding node), else express's `req.ip`.
 */
export function clientAddress(
  secret: string | undefined,
  req: {
    method: string;
    originalUrl: string;
    headers: IncomingHttpHeaders;
    ip?: string | undefined;
  },
): string {
  if (secret !== undefined && req.headers[HEADER.signature] !== undefined) {
    const path = req.originalUrl;
    const signed = verifyRequest(secret, req.headers, {
      purpose: 'forward',
      method: req.method,
      path,
    });
    if (signed?.client) return signed.client;
  }
  return req.ip ?? 'unknown';
}
