import type { Request, RequestHandler, Response } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import type { SessionOwner } from '../session/SessionFactory.js';
import type { MediaPool } from '../workers/MediaPool.js';
import { parseSessionId } from '../workers/protocol.js';
import { bearerToken } from './auth.js';
import { type RateLimit, RateLimiter } from './rateLimit.js';

/**
 * Who creates a session, as the session remembers it: the creating request's Bearer token when
 * the server requires tokens (`requireToken` has already accepted it), else nobody in particular.
 */
export function ownerOf(req: Request, tokensRequired: boolean): SessionOwner {
  const token = bearerToken(req);
  return tokensRequired && token !== undefined ? { token } : undefined;
}

/** A session `sessionAccess` found and let this request control: its id and current ETag. */
export type SessionRef = { id: string; etag: string };

/** The session `sessionAccess` found for this request. */
export function ownedSession(res: Response): SessionRef {
  return res.locals.owned as SessionRef;
}

/**
 * Every request to a session's URLs (GET, PATCH, DELETE, speaking, answer) passes here: the
 * session is found by its id (404; the id names the media worker that holds it), the client's requests to it are rate-limited (per address
 * and session, setting `sessionRequestRateLimit`; unknown ids share one bucket per address), and
 * when the server requires tokens, only the token that created the session or its session token
 * is accepted (401).
 */
export function sessionAccess(
  media: MediaPool,
  limit: RateLimit,
  client: (req: Request) => string = (req) => req.ip ?? 'unknown',
): RequestHandler {
  const limiter = limit.perMinute > 0 ? new RateLimiter(limit.perMinute, limit.burst) : undefined;
  return async (req, res, next) => {
    const id = String(req.params.sessionId);
    const token = bearerToken(req);
    // The owner check runs in the worker, which holds the hashes of the owning tokens.
    const access =
      parseSessionId(id)?.node !== media.node
        ? undefined
        : await media
            .session('access', { session: id, ...(token === undefined ? {} : { token }) })
            .catch(() => undefined);
    const owned = access?.found ? access : undefined;
    const wait = limiter?.take(`${client(req)} ${owned ? id : '?'}`) ?? 0;
    if (wait > 0) {
      return next(
        new AvatarServerError(
          'rate_limited',
          `too many requests to this session from your address (limit ${limit.perMinute} a minute, ${limit.burst} at once); retry after ${wait} s`,
          { retryAfterSeconds: wait },
        ),
      );
    }
    if (!owned) return next(AvatarServerError.sessionNotFound(id));
    if (!owned.allowed) {
      return next(
        new AvatarServerError(
          'unauthorized',
          'this session obeys only whoever created it: send Authorization: Bearer <the token that created it, or the session_token of its 201>',
        ),
      );
    }
    res.locals.owned = { id, etag: owned.etag } satisfies SessionRef;
    next();
  };
}
