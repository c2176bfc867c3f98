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

  constructor(clock: FrameClock) {
    this.#clock = clock;
    clock.onTick((tick, lateMs) => {
      this.ticks++;
      if (lateMs > clock.periodMs / 3) this.lateTicks++;
      for (const session of this.#sessions.values()) session.onTick(tick);
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
    session.once('closed', () => this.#sessions.delete(session.id));
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
