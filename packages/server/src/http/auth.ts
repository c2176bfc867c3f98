import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AvatarServerError } from '../lib/errors.js';

/**
 * Bearer tokens (setting `tokens`) for creating sessions. Session URLs themselves are unguessable
 * and act as the capability for PATCH, DELETE and speaking (notes/whep.md, pitfall 9). With no
 * tokens configured, anyone may create a session. Tokens are compared in constant time and never
 * logged (the logger redacts `Authorization`).
 */
export function requireToken(tokens: readonly string[]): RequestHandler {
  const allowed = tokens.map((t) => Buffer.from(t));
  return (req, _res, next) => {
    if (allowed.length === 0) return next();
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const given = m ? Buffer.from(m[1]!) : undefined;
    if (given && allowed.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
      return next();
    }
    next(
      new AvatarServerError(
        'unauthorized',
        given
          ? 'the Bearer token is not one of this server’s tokens'
          : 'send Authorization: Bearer <token> (setting tokens)',
      ),
    );
  };
}
