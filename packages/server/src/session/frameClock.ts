/** Milliseconds from a monotonic source, and a one-shot timer: injectable so tests control time. */
export type TimeSource = {
  now(): number;
  setTimer(callback: () => void, delayMs: number): () => void;
};

export const realTime: TimeSource = {
  now: () => performance.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(timer);
  },
};

export type TickListener = (tick: number, lateMs: number) => void;

/**
 * One clock for every session: tick k is due at start + k·period, computed from the start time
 * rather than from the previous tick, so timer lateness never accumulates into drift. After a
 * stall longer than `maxCatchUpTicks` periods the clock skips the missed ticks instead of
 * sending a burst of stale frames; `skippedTicks` counts them.
 */
export class FrameClock {
  readonly periodMs: number;
  #time: TimeSource;
  #listeners = new Set<TickListener>();
  #start = 0;
  #next = 0;
  #cancel: (() => void) | null = null;
  #maxCatchUp: number;
  skippedTicks = 0;

  constructor(fps: number, options: { time?: TimeSource; maxCatchUpTicks?: number } = {}) {
    this.periodMs = 1000 / fps;
    this.#time = options.time ?? realTime;
    this.#maxCatchUp = options.maxCatchUpTicks ?? 2;
  }

  get running() {
    return this.#cancel !== null;
  }

  /** Index of the next tick that has not fired yet. */
  get nextTick() {
    return this.#next;
  }

  /** The clock's time source (the registry schedules its send slices on it). */
  get time(): TimeSource {
    return this.#time;
  }

  /** When tick `k` is due, on the time source's scale. */
  dueAt(tick: number) {
    return this.#start + tick * this.periodMs;
  }

  onTick(listener: TickListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start() {
    if (this.running) return;
    this.#start = this.#time.now();
    this.#next = 0;
    this.#schedule();
  }

  stop() {
    this.#cancel?.();
    this.#cancel = null;
  }

  #schedule() {
    this.#cancel = this.#time.setTimer(
      () => this.#fire(),
      this.dueAt(this.#next) - this.#time.now(),
    );
  }

  #fire() {
    const now = this.#time.now();
    const behind = Math.floor((now - this.dueAt(this.#next)) / this.periodMs);
    if (behind > this.#maxCatchUp) {
      this.skippedTicks += behind;
      this.#next += behind;
    }
    try {
      // Fire every tick that is due (normally exactly one).
      while (this.running && this.dueAt(this.#next) <= now) {
        const tick = this.#next++;
        const late = now - this.dueAt(tick);
        for (const listener of this.#listeners) listener(tick, late);
      }
    } finally {
      // A listener that throws must not stop the clock for everyone else.
      if (this.running) this.#schedule();
    }
  }
}
