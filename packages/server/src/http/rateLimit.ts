import type { Request, RequestHandler } from 'express';
import { AvatarServerError } from '../lib/errors.js';

/**
 * Token buckets per key (a client address, or an address and a session): session creation
 * (`sessionRateLimit`) costs a DTLS handshake and a UDP port, and every request to a session
 * (`sessionRequestRateLimit`) costs work too, so one client must not be able to make hundreds a
 * second. `burst` requests at once, then `perMinute` refilled evenly (WHEP §5; docs/whep.md).
 */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #perMs: number;

  constructor(
    readonly perMinute: number,
    readonly burst: number,
    readonly now: () => number = () => performance.now(),
  ) {
    this.#perMs = perMinute / 60_000;
  }

  /** Takes one token for `key`: 0 if allowed, else the seconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (!this.#buckets.has(key)) {
      if (this.#buckets.size >= 10_000) this.#prune(now);
      this.#buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Forgets clients whose bucket has refilled: memory stays bounded by recent clients. */
  #prune(now: number) {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.burst) this.#buckets.delete(key);
    }
  }

  get size() {
    return this.#buckets.size;
  }
}

export type RateLimit = { perMinute: number; burst: number };

/**
 * 429 with Retry-After beyond the limit, per `key` (the client address by default);
 * `perMinute: 0` turns it off. `what` names the limit in the problem's detail.
 */
export function limitRequests(
  limit: RateLimit,
  what: string,
  key: (req: Request) => string = (req) => req.ip ?? 'unknown',
): RequestHandler {
  if (limit.perMinute <= 0) return (_req, _res, next) => next();
  const limiter = new RateLimiter(limit.perMinute, limit.burst);
  return (req, _res, next) => {
    const wait = limiter.take(key(req));
    if (wait === 0) return next();
    next(
      new AvatarServerError(
        'rate_limited',
        `too many ${what} (limit ${limit.perMinute} a minute, ${limit.burst} at once); retry after ${wait} s`,
        { retryAfterSeconds: wait },
      ),
    );
  };
}

/** Session creation, per client address (setting `sessionRateLimit`; WHEP and /streams share it). */
export function limitSessionCreation(limit: RateLimit): RequestHandler {
  return limitRequests(limit, 'sessions created from your address');
}
