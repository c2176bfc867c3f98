import { CONFIG_DEFAULTS } from '../config/defaults.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import type { FrameClock } from './frameClock.js';
import { emptySessionStats, Session, type SessionStats, type SpeakingChange } from './Session.js';
import type { VideoSender } from './videoSender.js';

/**
 * One slice of a tick's sends: `sessions` frames went out between `startLateMs` and `endLateMs`
 * after the slice's scheduled time (the tick's due time + the slice's offset).
 */
export type SliceReport = {
  tick: number;
  slice: number;
  sessions: number;
  /** Scheduled time of the slice on the clock's time source: dueAt(tick) + slice · offset. */
  scheduledAt: number;
  startLateMs: number;
  endLateMs: number;
};

/** What the registry tells observers (metrics): sessions coming and going, switches. */
export type RegistryObserver = {
  added?(session: Session): void;
  closed?(session: Session, reason: string): void;
  switched?(session: Session, change: SpeakingChange): void;
  /** After each slice of a tick has been sent (the capacity benchmark's late-frame count). */
  sliceSent?(report: SliceReport): void;
};

/**
 * Every live session, ticked together by one frame clock. WHEP sessions (and later the original
 * API's streams) share this registry and so one state machine per viewer.
 *
 * A tick's frames are not sent in one burst: the sessions are split into `sendSlices` slices, and
 * slice j sends its sessions' frames for tick k at dueAt(k) + j·period/sendSlices (slice 0 at the
 * tick itself, the others on their own timers), so the event loop serves I/O between slices and
 * one stall delays only the slices it overlaps. A session stays in its slice (a constant offset,
 * no added jitter; its RTP timestamp is still the tick's); a new session joins the smallest slice,
 * so sessions that join together, and so play their keyframes together, are spread apart.
 */
export class SessionRegistry {
  #sessions = new Map<string, Session>();
  #clock: FrameClock;
  #slices: Array<Set<Session>>;
  #sliceOf = new Map<Session, number>();
  #sliceOffsetMs: number;
  /** Pending slice timers, cancelled when the last session ends. */
  #timers = new Set<() => void>();
  /**
   * Ticks on which at least one slice started more than a third of a frame period after its
   * scheduled time (tick due time + slice offset): a health signal for /status.
   */
  lateTicks = 0;
  ticks = 0;
  /** Frames of the sessions in those late slices, summed. */
  lateFrames = 0;
  /** Sessions ever added. */
  created = 0;
  #closedTotals: SessionStats = emptySessionStats();
  #observers: RegistryObserver[] = [];
  #lastLateTick = -1;

  #onError: (err: unknown, session: Session) => void;
  /** Starts every session id: names the media worker that holds this registry. */
  #idPrefix: string;

  /** Frames a speaking change may wait for a better cut (config `switchWaitFrames`), per session. */
  readonly switchWaitFrames: number;
  /** Slices a tick's sends are spread over (1: every frame at the tick, in one burst). */
  readonly sendSlices: number;

  constructor(
    clock: FrameClock,
    onError: (err: unknown, session: Session) => void = () => {},
    /** Settings `switchWaitFrames` and `sendSlices`; their defaults come from the config schema. */
    options: { switchWaitFrames?: number; sendSlices?: number; idPrefix?: string } = {},
  ) {
    this.#idPrefix = options.idPrefix ?? '';
    this.#clock = clock;
    this.#onError = onError;
    this.switchWaitFrames = options.switchWaitFrames ?? CONFIG_DEFAULTS.switchWaitFrames;
    this.sendSlices = Math.max(1, Math.floor(options.sendSlices ?? CONFIG_DEFAULTS.sendSlices));
    this.#slices = Array.from({ length: this.sendSlices }, () => new Set<Session>());
    this.#sliceOffsetMs = clock.periodMs / this.sendSlices;
    clock.onTick((tick) => {
      this.ticks++;
      const due = clock.dueAt(tick);
      this.#runSlice(tick, 0, due);
      for (let j = 1; j < this.sendSlices; j++) {
        if (this.#slices[j]!.size === 0) continue;
        const at = due + j * this.#sliceOffsetMs;
        const cancel = clock.time.setTimer(() => {
          this.#timers.delete(cancel);
          this.#runSlice(tick, j, at);
        }, at - clock.time.now());
        this.#timers.add(cancel);
      }
    });
  }

  /** Sends tick `tick`'s frame of every session in slice `j`, scheduled for `scheduledAt`. */
  #runSlice(tick: number, j: number, scheduledAt: number) {
    const slice = this.#slices[j]!;
    if (slice.size === 0) return;
    const time = this.#clock.time;
    const startLateMs = time.now() - scheduledAt;
    if (startLateMs > this.#clock.periodMs / 3) {
      this.lateFrames += slice.size;
      if (this.#lastLateTick !== tick) {
        this.#lastLateTick = tick;
        this.lateTicks++;
      }
    }
    const sessions = slice.size;
    for (const session of slice) {
      try {
        session.onTick(tick);
      } catch (err) {
        // One broken session ends; every other viewer keeps streaming.
        this.#onError(err, session);
        session.close(`internal error: ${(err as Error).message}`);
      }
    }
    if (this.#observers.length === 0) return;
    const report: SliceReport = {
      tick,
      slice: j,
      sessions,
      scheduledAt,
      startLateMs,
      endLateMs: time.now() - scheduledAt,
    };
    for (const o of this.#observers) o.sliceSent?.(report);
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

  /**
   * A new session for `avatar`, sending through `sender`, on this registry's clock and with its
   * settings (`switchWaitFrames`), added at once. The session factory calls this.
   */
  open(avatar: PacketizedAvatar, sender: VideoSender): Session {
    const session = new Session(avatar, this.#clock, sender, {
      switchWaitFrames: this.switchWaitFrames,
      idPrefix: this.#idPrefix,
    });
    this.add(session);
    return session;
  }

  /**
   * How long after a tick the session's frames go out (its slice's offset): its voice sends on the
   * same phase (audio/Voice.ts), so audio and video reach the viewer equally late against their
   * timestamps, and each voice's encode lands in its own slice.
   */
  sendOffsetMs(session: Session): number {
    return (this.#sliceOf.get(session) ?? 0) * this.#sliceOffsetMs;
  }

  add(session: Session) {
    this.#sessions.set(session.id, session);
    let smallest = 0;
    for (let j = 1; j < this.sendSlices; j++) {
      if (this.#slices[j]!.size < this.#slices[smallest]!.size) smallest = j;
    }
    this.#slices[smallest]!.add(session);
    this.#sliceOf.set(session, smallest);
    this.created++;
    for (const o of this.#observers) o.added?.(session);
    session.on('speakingchange', (change) => {
      for (const o of this.#observers) o.switched?.(session, change);
    });
    session.once('closed', (reason) => {
      this.#sessions.delete(session.id);
      this.#slices[this.#sliceOf.get(session)!]!.delete(session);
      this.#sliceOf.delete(session);
      addStats(this.#closedTotals, session.stats);
      for (const o of this.#observers) o.closed?.(session, reason);
      // No viewers: no need to wake up 25 times a second.
      if (this.#sessions.size === 0) {
        this.#clock.stop();
        for (const cancel of this.#timers) cancel();
        this.#timers.clear();
      }
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
