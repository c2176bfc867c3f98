import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rateLimit.js';

describe('RateLimiter', () => {
  it('allows a burst, then one per refill period, per key', () => {
    let now = 0;
    const limiter = new RateLimiter(60, 3, () => now); // one a second after 3
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0); // another client is not affected
    now += 1000;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });

  it('says how long to wait when the refill is slow', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 1, () => now); // one every 30 s
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(30);
    now += 20_000;
    expect(limiter.take('a')).toBe(10);
  });

  it('forgets idle clients, so memory stays bounded', () => {
    let now = 0;
    const limiter = new RateLimiter(60, 2, () => now);
    for (let i = 0; i < 10_000; i++) limiter.take(`ip${i}`);
    expect(limiter.size).toBe(10_000);
    now += 2000; // every bucket refilled
    limiter.take('new');
    expect(limiter.size).toBe(1);
  });
});
