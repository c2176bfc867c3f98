import type { FrameClock } from './frameClock.js';
import {
  emptySessionStats,
  type Session,
  type SessionStats,
  type SpeakingChange,
} from './Session.js';

/** What the registry tells observers (metrics): sessions coming and going, switches. */
export type RegistryObserver = {
  added?(session: Session): void;
  closed?(session: Session, reason: string): void;
  switched?(session: Session, change: SpeakingChange): void;
};

/**
 * Every live session, ticked together by one frame clock. WHEP sessions (and later the original
 * API's streams) share this registry and so one state machine per viewer.
 */
export class SessionRegistry {
  #sessions = new Map<string, Session>();
  #clock: FrameClock;
  /** Ticks that ran later than a third of a frame period (a health signal for /status). */
  lateTicks = 0;
  ticks = 0;
  /** Frames due on late ticks, summed over the sessions live at each one. */
  lateFrames = 0;
  /** Sessions ever added. */
  created = 0;
  #closedTotals: SessionStats = emptySessionStats();
  #observers: RegistryObserver[] = [];

  #onError: (err: unknown, session: Session) => void;

  /** Frames a speaking change may wait for a better cut (config `switchWaitFrames`), per session. */
  readonly switchWaitFrames: number;

  constructor(
    clock: FrameClock,
    onError: (err: unknown, session: Session) => void = () => {},
    options: { switchWaitFrames?: number } = {},
  ) {
    this.#clock = clock;
    this.#onError = onError;
    this.switchWaitFrames = options.switchWaitFrames ?? 0;
    clock.onTick((tick, lateMs) => {
      this.ticks++;
      if (lateMs > clock.periodMs / 3) {
        this.lateTicks++;
        this.lateFrames += this.#sessions.size;
      }
      for (const session of this.#sessions.values()) {
        try {
          session.onTick(tick);
        } catch (err) {
          // One broken session ends; every other viewer keeps streaming.
          this.#onError(err, session);
          session.close(`internal error: ${(err as Error).message}`);
        }
      }
    });
  }

  get size() {
    return this.#sessions.size;
  }

  get clock() {
    return this.#clock;
  }

  observe(observer: RegistryObserver) {
    this.#observers.push(observer);
  }

  /** Counters summed over every session, live and ended, since the start. */
  totals(): SessionStats {
    const sum = { ...this.#closedTotals };
    for (const session of this.#sessions.values()) addStats(sum, session.stats);
    return sum;
  }

  add(session: Session) {
    this.#sessions.set(session.id, session);
    this.created++;
    for (const o of this.#observers) o.added?.(session);
    session.on('speakingchange', (change) => {
      for (const o of this.#observers) o.switched?.(session, change);
    });
    session.once('closed', (reason) => {
      this.#sessions.delete(session.id);
      addStats(this.#closedTotals, session.stats);
      for (const o of this.#observers) o.closed?.(session, reason);
      // No viewers: no need to wake up 25 times a second.
      if (this.#sessions.size === 0) this.#clock.stop();
    });
    if (!this.#clock.running) this.#clock.start();
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  list(): Session[] {
    return [...this.#sessions.values()];
  }

  closeAll(reason: string) {
    for (const session of this.list()) session.close(reason);
  }
}

function addStats(into: SessionStats, from: SessionStats) {
  for (const key of Object.keys(into) as Array<keyof SessionStats>) into[key] += from[key];
}
