import { type AvatarError, type AvatarErrorReason, asAvatarError } from './errors.js';
import { sleep } from './whep.js';

/** What a reconnect policy knows when it decides the next wait. */
export type ReconnectContext = {
  /** Attempts made so far in this reconnect (0 before the first). */
  attempt: number;
  /** Time since the connection was lost. */
  elapsedMs: number;
  /** Why the last attempt failed (none before the first). */
  error?: AvatarError | undefined;
};

/** How long to wait before the next attempt, or `null` to give up (the avatar closes). */
export type ReconnectPolicy = (context: ReconnectContext) => number | null;

/** Failures another try cannot fix: the server said no for good. */
const FINAL: AvatarErrorReason[] = ['unauthorized', 'not-found', 'not-acceptable', 'bad-request'];

/**
 * Exponential backoff with jitter (250 ms doubling up to 8 s, each wait 50–100% of that), so the
 * viewers of a restarted server spread out; gives up on a final answer (401/403/404/406/400).
 */
export function backoffPolicy(random = Math.random): ReconnectPolicy {
  return ({ attempt, error }) =>
    error && FINAL.includes(error.reason)
      ? null
      : Math.min(8000, 250 * 2 ** attempt) * (0.5 + random() / 2);
}

/**
 * Tries `connect` until it succeeds, waiting as the policy says between attempts. Each failure is
 * reported to `onError` after the policy has decided (`final`: it gave up); `onRetry` hears of
 * each attempt (numbered from 1) before its wait. Resolves with the
 * connection, or `undefined` once the policy gives up; rejects when `signal` aborts.
 */
export async function reconnect<T>(
  connect: () => Promise<T>,
  policy: ReconnectPolicy,
  onError: (error: AvatarError, final: boolean) => void,
  signal: AbortSignal,
  onRetry?: (attempt: number, delayMs: number) => void,
): Promise<T | undefined> {
  const lostAt = Date.now();
  let error: AvatarError | undefined;
  for (let attempt = 0; ; attempt++) {
    const wait = policy({ attempt, elapsedMs: Date.now() - lostAt, error });
    if (error) onError(error, wait === null);
    if (wait === null) return undefined;
    onRetry?.(attempt + 1, wait);
    await sleep(wait, signal);
    try {
      return await connect();
    } catch (err) {
      if (signal.aborted) throw err;
      error = asAvatarError(err);
    }
  }
}

/**
 * A policy that gives up once reconnecting has taken `maxMs` (the next wait would pass it), so a
 * page whose server is gone for good gets a final answer instead of a spinner forever.
 */
export function giveUpAfter(policy: ReconnectPolicy, maxMs: number, onExpired: () => void) {
  return (context: ReconnectContext): number | null => {
    const wait = policy(context);
    if (wait === null || context.elapsedMs + wait <= maxMs) return wait;
    onExpired();
    return null;
  };
}
