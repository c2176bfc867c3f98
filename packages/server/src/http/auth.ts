import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import { verifyToken } from '../lib/signedToken.js';

/** True when creating a session needs a token (settings `tokens` or `tokenSecret`). */
export function tokensRequired(settings: {
  tokens: readonly string[];
  tokenSecret?: string | undefined;
}) {
  return settings.tokens.length > 0 || settings.tokenSecret !== undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if the request has one. */
export function bearerToken(req: Request): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
}

/**
 * Bearer tokens for creating sessions: static tokens (setting `tokens`, for backends) and
 * short-lived signed ones a backend mints for browsers (setting `tokenSecret`, see
 * lib/signedToken.ts). Session URLs themselves are unguessable capabilities (docs/whep.md, pitfall 9); with tokens, a
 * session's URLs also need the token that created it (http/sessionAccess.ts). With neither
 * configured, anyone may create a session. Tokens are compared in constant time and never logged
 * (the request serializer keeps only method, URL and id; the logger redacts `Authorization`).
 * CORS preflights never reach this.
 */
export function requireToken(tokens: readonly string[], tokenSecret?: string): RequestHandler {
  const allowed = tokens.map((t) => Buffer.from(t));
  return (req, res, next) => {
    if (allowed.length === 0 && !tokenSecret) return next();
    const token = bearerToken(req);
    const given = token !== undefined ? Buffer.from(token) : undefined;
    if (given && allowed.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
      return next();
    }
    if (token !== undefined && tokenSecret) {
      const check = verifyToken(tokenSecret, token);
      if (check.ok) {
        res.locals.allowedAvatars = check.avatars;
        return next();
      }
      if (check.reason === 'expired') {
        return next(new AvatarServerError('unauthorized', 'the token has expired: mint a new one'));
      }
    }
    next(
      new AvatarServerError(
        'unauthorized',
        token === undefined
          ? 'send Authorization: Bearer <token> (settings tokens, tokenSecret)'
          : tokenSecret
            ? 'the Bearer token is not one of this server’s tokens, nor validly signed'
            : 'the Bearer token is not one of this server’s tokens',
      ),
    );
  };
}

/** 403 unless the request's token (if it names avatars) allows one of `ids`. */
export function checkAvatarAllowed(res: Response, ...ids: string[]) {
  const avatars = res.locals.allowedAvatars as string[] | undefined;
  if (avatars === undefined || ids.some((id) => avatars.includes(id))) return;
  throw new AvatarServerError(
    'forbidden',
    `this token is for ${avatars.map((a) => `'${a}'`).join(', ')}, not '${ids[0]}'`,
  );
}
