import { describe, expect, it } from 'vitest';
import { FrameClock, type TimeSource } from './frameClock.js';

/** A simulated clock whose timers fire late by a random 0–15 ms, like a busy event loop. */
function simulatedTime(seed = 1) {
  let now = 1000;
  let rand = seed;
  const random = () => {
    rand = (rand * 1103515245 + 12345) % 2 ** 31;
    return rand / 2 ** 31;
  };
  const timers: Array<{ at: number; cb: () => void; live: boolean }> = [];
  const time: TimeSource = {
    now: () => now,
    setTimer(cb, delayMs) {
      const timer = { at: now + Math.max(0, delayMs) + random() * 15, cb, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
  };
  const runUntil = (stop: () => boolean) => {
    while (!stop()) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift();
      if (!next) throw new Error('no timer pending');
      if (!next.live) continue;
      now = Math.max(now, next.at);
      next.cb();
    }
  };
  return { time, runUntil, now: () => now };
}

describe('FrameClock', () => {
  it('does not drift over 10 000 ticks although every timer fires late', () => {
    const sim = simulatedTime();
    const clock = new FrameClock(25, { time: sim.time });
    const fired: Array<{ tick: number; at: number }> = [];
    clock.onTick((tick) => fired.push({ tick, at: sim.now() }));
    const start = sim.now();
    clock.start();
    sim.runUntil(() => fired.length >= 10_000);
    expect(fired.map((f) => f.tick)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    // Tick k fires at start + 40·k plus at most one timer's lateness, never more: no accumulation.
    for (const { tick, at } of fired) {
      expect(at - (start + tick * 40)).toBeGreaterThanOrEqual(0);
      expect(at - (start + tick * 40)).toBeLessThan(16);
    }
    expect(clock.skippedTicks).toBe(0);
  });

  it('skips ticks after a long stall instead of bursting stale frames', () => {
    let now = 0;
    let pending: (() => void) | null = null;
    const clock = new FrameClock(25, {
      time: {
        now: () => now,
        setTimer: (cb) => {
          pending = cb;
          return () => {
            pending = null;
          };
        },
      },
    });
    const ticks: number[] = [];
    clock.onTick((t) => ticks.push(t));
    clock.start();
    now = 0;
    pending!();
    now = 1000; // a one-second stall: 25 ticks late
    pending!();
    expect(ticks[0]).toBe(0);
    expect(ticks.length).toBeLessThanOrEqual(4);
    expect(ticks.at(-1)).toBe(25);
    expect(clock.skippedTicks).toBeGreaterThan(20);
    clock.stop();
  });
});
