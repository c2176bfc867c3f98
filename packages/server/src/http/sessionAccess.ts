import type { Request, RequestHandler, Response } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import type { OwnedSession, SessionFactory, SessionOwner } from '../session/SessionFactory.js';
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

/** The session `sessionAccess` found for this request. */
export function ownedSession(res: Response): OwnedSession {
  return res.locals.owned as OwnedSession;
}

/**
 * Every request to a session's URLs (GET, PATCH, DELETE, speaking, answer) passes here: the
 * session is found by its id (404), the client's requests to it are rate-limited (per address
 * and session, setting `sessionRequestRateLimit`; unknown ids share one bucket per address), and
 * when the server requires tokens, only the token that created the session or its session token
 * is accepted (401).
 */
export function sessionAccess(sessions: SessionFactory, limit: RateLimit): RequestHandler {
  const limiter = limit.perMinute > 0 ? new RateLimiter(limit.perMinute, limit.burst) : undefined;
  return (req, res, next) => {
    const id = String(req.params.sessionId);
    const owned = sessions.get(id);
    const wait = limiter?.take(`${req.ip ?? 'unknown'} ${owned ? id : '?'}`) ?? 0;
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
    if (!owned.ownedBy(bearerToken(req))) {
      return next(
        new AvatarServerError(
          'unauthorized',
          'this session obeys only whoever created it: send Authorization: Bearer <the token that created it, or the session_token of its 201>',
        ),
      );
    }
    res.locals.owned = owned;
    next();
  };
}
