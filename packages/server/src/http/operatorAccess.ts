import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import { bearerToken } from './auth.js';

export type OperatorPolicy = {
  /** Bearer tokens that make a request an operator's (setting `operatorTokens`). */
  operatorTokens: readonly string[];
  /** Who else is one (setting `operatorAccess`): this machine, nobody, or anyone. */
  operatorAccess: 'local' | 'token' | 'anyone';
};

/** Headers a reverse proxy adds: a request carrying one was relayed, whoever sent it last. */
const RELAY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host'];

const isLoopbackAddress = (address: string | undefined) =>
  address !== undefined &&
  (address === '::1' || /^(::ffff:)?127\./.test(address) || address === '::ffff:7f00:1');

/** The host name of a Host header (`[::1]:8765` → `::1`, `localhost:8765` → `localhost`). */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  if (bracketed) return bracketed[1]!;
  return host.replace(/:\d+$/, '').toLowerCase();
}

const isLoopbackName = (name: string) =>
  name === 'localhost' ||
  name.endsWith('.localhost') ||
  (isIP(name) !== 0 && isLoopbackAddress(name));

/**
 * A request from this machine, as `curl http://localhost:8765/status` sends it: the TCP peer is
 * loopback, no proxy relayed it (a proxy on this machine would make every client look local),
 * it was addressed to a loopback name (a DNS-rebinding page uses its own name), and it does not
 * come from another site's page (a browser sends `Origin` then; CORS would let that page read
 * the answer).
 */
export function isLocalRequest(req: Request): boolean {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  if (RELAY_HEADERS.some((h) => req.headers[h] !== undefined)) return false;
  const host = req.headers.host;
  if (!isLoopbackName(hostName(host))) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return isLoopbackName(hostName(new URL(origin).host)) && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Whether a request has operator rights: `/status`, `/metrics` and the details of `/avatars`
 * show every session and host details, so they are for the people who run the server.
 */
export function operatorCheck(policy: OperatorPolicy): (req: Request) => boolean {
  const tokens = policy.operatorTokens.map((t) => Buffer.from(t));
  return (req) => {
    if (policy.operatorAccess === 'anyone') return true;
    const token = bearerToken(req);
    if (token !== undefined) {
      const given = Buffer.from(token);
      if (tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) return true;
    }
    return policy.operatorAccess === 'local' && isLocalRequest(req);
  };
}

/** 401 (with a token to try) or 403 unless the request has operator rights. */
export function requireOperator(policy: OperatorPolicy): RequestHandler {
  const isOperator = operatorCheck(policy);
  const how = [
    policy.operatorTokens.length > 0 ? 'send Authorization: Bearer <an operatorTokens entry>' : '',
    policy.operatorAccess === 'local'
      ? 'ask from this machine (curl http://localhost:<port>…)'
      : '',
  ]
    .filter(Boolean)
    .join(', or ');
  return (req, _res, next) => {
    if (isOperator(req)) return next();
    const what = `${req.method} ${req.path} is for operators`;
    if (policy.operatorTokens.length > 0) {
      return next(new AvatarServerError('unauthorized', `${what}: ${how}`));
    }
    next(
      new AvatarServerError(
        'operator_only',
        `${what}: ${how || 'set operatorTokens (or operatorAccess: local) in the configuration'}`,
      ),
    );
  };
}
