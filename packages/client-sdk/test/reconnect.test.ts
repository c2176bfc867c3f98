import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AvatarError } from '../src/errors.js';
import { backoffPolicy, giveUpAfter, type ReconnectContext, reconnect } from '../src/reconnect.js';

describe('backoffPolicy', () => {
  it('doubles from 250 ms up to 8 s, each wait 50–100% of the step', () => {
    const low = backoffPolicy(() => 0);
    const high = backoffPolicy(() => 0.999999);
    const at = (attempt: number, policy = low) => policy({ attempt, elapsedMs: 0 });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => at(a))).toEqual([
      125, 250, 500, 1000, 2000, 4000, 4000, 4000,
    ]);
    expect(at(0, high)).toBeCloseTo(250, 3);
    expect(at(10, high)).toBeCloseTo(8000, 2);
  });

  it('gives up on answers another try cannot change, and keeps trying on the others', () => {
    const policy = backoffPolicy(() => 0.5);
    const after = (error: AvatarError) => policy({ attempt: 3, elapsedMs: 5000, error });
    for (const status of [400, 401, 403, 404, 406, 422]) {
      expect(after(AvatarError.fromProblem(status)), `HTTP ${status}`).toBeNull();
    }
    for (const status of [429, 500, 502, 503]) {
      expect(after(AvatarError.fromProblem(status)), `HTTP ${status}`).toBeGreaterThan(0);
    }
    expect(after(new AvatarError('network', 'connection lost'))).toBeGreaterThan(0);
    expect(after(new AvatarError('timeout', 'no video frame arrived'))).toBeGreaterThan(0);
  });
});

describe('reconnect', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits as the policy says, reports each failure, and resolves with the connection', async () => {
    const seen: ReconnectContext[] = [];
    const policy = (c: ReconnectContext) => {
      seen.push(c);
      return 1000;
    };
    const errors: [string, boolean][] = [];
    let calls = 0;
    const connect = async () => {
      calls++;
      if (calls < 3) throw new Error(`refused ${calls}`);
      return 'session';
    };
    const done = reconnect(
      connect,
      policy,
      (e, final) => errors.push([e.message, final]),
      new AbortController().signal,
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(0); // the first attempt waits too: a restarting server needs a moment
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(done).resolves.toBe('session');
    expect(calls).toBe(3);
    // A plain Error becomes a `network` AvatarError; the policy sees the attempt, time and error.
    expect(errors).toEqual([
      ['refused 1', false],
      ['refused 2', false],
    ]);
    expect(seen.map((c) => [c.attempt, c.elapsedMs, c.error?.reason])).toEqual([
      [0, 0, undefined],
      [1, 1000, 'network'],
      [2, 2000, 'network'],
    ]);
  });

  it('stops when the policy gives up: the last failure is reported as final', async () => {
    const errors: [string, boolean][] = [];
    const connect = () => Promise.reject(AvatarError.fromProblem(404, { detail: 'no avatar' }));
    const done = reconnect(
      connect,
      backoffPolicy(),
      (e, final) => errors.push([e.reason, final]),
      new AbortController().signal,
    );
    await vi.advanceTimersByTimeAsync(300);
    await expect(done).resolves.toBeUndefined();
    expect(errors).toEqual([['not-found', true]]);
  });

  it('rejects as soon as its signal aborts, without another attempt', async () => {
    const abort = new AbortController();
    const connect = vi.fn(() => Promise.reject(new Error('down')));
    const done = reconnect(
      connect,
      () => 5000,
      () => {},
      abort.signal,
    );
    const settled = expect(done).rejects.toMatchObject({ reason: 'aborted' });
    await vi.advanceTimersByTimeAsync(1000);
    abort.abort();
    await settled;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(connect).not.toHaveBeenCalled();
  });
});

describe('giveUpAfter', () => {
  it('passes the waits through until the next one would pass the limit, then gives up once', () => {
    let expired = 0;
    const policy = giveUpAfter(
      () => 1000,
      5000,
      () => expired++,
    );
    expect(policy({ attempt: 0, elapsedMs: 0 })).toBe(1000);
    expect(policy({ attempt: 3, elapsedMs: 4000 })).toBe(1000);
    expect(expired).toBe(0);
    expect(policy({ attempt: 4, elapsedMs: 4500 })).toBeNull();
    expect(expired).toBe(1);
  });

  it('keeps a final answer of the inner policy final, without calling it expiry', () => {
    let expired = 0;
    const policy = giveUpAfter(
      () => null,
      5000,
      () => expired++,
    );
    expect(policy({ attempt: 1, elapsedMs: 10 })).toBeNull();
    expect(expired).toBe(0);
  });
});

describe('reconnect onRetry', () => {
  it('numbers the attempts from 1 and tells each wait before it', async () => {
    const retries: [number, number][] = [];
    let calls = 0;
    const result = await reconnect(
      async () => {
        if (++calls < 3) throw new AvatarError('network', 'down');
        return 'up';
      },
      ({ attempt }) => attempt * 2,
      () => {},
      new AbortController().signal,
      (attempt, delayMs) => retries.push([attempt, delayMs]),
    );
    expect(result).toBe('up');
    expect(retries).toEqual([
      [1, 0],
      [2, 2],
      [3, 4],
    ]);
  });
});
