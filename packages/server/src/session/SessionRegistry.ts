import type { FrameClock } from './frameClock.js';
import type { Session } from './Session.js';

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

  #onError: (err: unknown, session: Session) => void;

  constructor(clock: FrameClock, onError: (err: unknown, session: Session) => void = () => {}) {
    this.#clock = clock;
    this.#onError = onError;
    clock.onTick((tick, lateMs) => {
      this.ticks++;
      if (lateMs > clock.periodMs / 3) this.lateTicks++;
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

  add(session: Session) {
    this.#sessions.set(session.id, session);
    session.once('closed', () => {
      this.#sessions.delete(session.id);
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
