import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import { mediaLogger } from '../lib/logger.js';
import { type LoopName, otherLoop } from '../media/compiledAvatar.js';
import type { PacketizedAvatar, PacketizedFrame } from '../rtp/packetizedAvatar.js';
import { advance, type Cursor, enterAt, frameAt } from './cursor.js';
import type { FrameClock } from './frameClock.js';
import type { VideoSender } from './videoSender.js';

/** When and where a speaking change took effect: the answer to every control request. */
export type SpeakingChange = {
  speaking: boolean;
  loop: LoopName;
  /** Frame of the new loop that was sent first (a keyframe). */
  frame: number;
  /** Clock tick whose frame carried the change. */
  tick: number;
  /** Wall-clock time (ms since the epoch) when the first packet of the change was sent. */
  sentAt: number;
  /** From the request reaching the session to that packet being sent. */
  latencyMs: number;
  /** Present when the session's audio drives the face: a `setSpeaking` changes nothing then. */
  audio?: true;
};

/**
 * What drives the face while the session plays audio (audio/Voice.ts): the state for the video
 * frame at media time `mediaMs`, or undefined when the voice has nothing to say.
 */
export interface SpeakingSource {
  speakingFor(mediaMs: number, periodMs: number): boolean | undefined;
}

/** The session's one media clock (see viewerPeer.ts MediaClock), once its first frame is due. */
export type SessionMediaClock = {
  /** Media time 0 on this thread's performance clock: the due time of the first video frame. */
  originMs: number;
  originEpochMs: number;
  videoBase: number;
  audioBase: number;
};

export type SessionEvents = {
  speakingchange: [change: SpeakingChange];
  closed: [reason: string];
};

/** All counters at zero (a new session; the registry's totals of ended sessions). */
export function emptySessionStats(): SessionStats {
  return {
    framesSent: 0,
    packetsSent: 0,
    bytesSent: 0,
    keyframesSent: 0,
    keyframeRequests: 0,
    switches: 0,
  };
}

export type SessionStats = {
  framesSent: number;
  packetsSent: number;
  bytesSent: number;
  keyframesSent: number;
  keyframeRequests: number;
  switches: number;
};

type Waiter = {
  resolve: (change: SpeakingChange) => void;
  reject: (err: Error) => void;
  receivedAt: number;
};
/** A requested change; `waitFrames` more frames of the current loop go out before the cut. */
type PendingChange = { speaking: boolean; waiters: Waiter[]; waitFrames: number };

const RTP_CLOCK = 90_000;

/**
 * One viewer: a cursor over the shared packetized avatar, its own RTP sequence and timestamp
 * counters, and the speaking state machine. The frame clock drives `onTick` (through the
 * registry's send slices); a speaking change is sent at once as the frame of the tick this session
 * sends next (so it never waits for the tick or its slice) and that tick is then skipped for this
 * session, keeping one frame per tick and the cadence intact.
 */
export class Session extends EventEmitter<SessionEvents> {
  /** 128 random bits (base64url), after `idPrefix` (the media worker that holds the session). */
  readonly id: string;
  readonly createdAt = Date.now();
  readonly stats: SessionStats = emptySessionStats();
  #avatar: PacketizedAvatar;
  #clock: FrameClock;
  #sender: VideoSender;
  #cursor: Cursor;
  #speaking = false;
  #pending: PendingChange | null = null;
  #keyframeRequested = false;
  #switchWaitFrames: number;
  #sequence = randomBytes(2).readUInt16BE();
  #timestampBase = randomBytes(4).readUInt32BE();
  #audioBase = randomBytes(4).readUInt32BE();
  #mediaClock: SessionMediaClock | undefined;
  /** The application's last `setSpeaking`, applied when no audio drives the face. */
  #appSpeaking = false;
  #voice: SpeakingSource | undefined;
  /** The voice decided the last frame's state. */
  #voiceDriving = false;
  #firstTick = -1;
  #lastSentTick = -1;
  #closed = false;
  /** The sender stopped being ready after frames went out (connection lost): sends paused. */
  #paused = false;
  /** Debug lines on the decisions of this session (switches, keyframes, pauses, its end). */
  #log: Logger;

  constructor(
    avatar: PacketizedAvatar,
    clock: FrameClock,
    sender: VideoSender,
    options: { switchWaitFrames?: number; logger?: Logger; idPrefix?: string } = {},
  ) {
    super();
    this.id = (options.idPrefix ?? '') + randomBytes(16).toString('base64url');
    this.#switchWaitFrames = options.switchWaitFrames ?? 0;
    this.#avatar = avatar;
    this.#clock = clock;
    this.#sender = sender;
    this.#cursor = enterAt(avatar, 'idle', 0);
    this.#log = (options.logger ?? mediaLogger('session')).child({
      session: this.id,
      avatar: avatar.id,
    });
    sender.forSession?.(this.id);
  }

  get avatarId() {
    return this.#avatar.id;
  }
  get speaking() {
    return this.#pending?.speaking ?? this.#speaking;
  }
  get cursor(): Readonly<Cursor> {
    return this.#cursor;
  }
  get closed() {
    return this.#closed;
  }

  /** The media clock shared by video and audio, once the first frame went out. */
  get mediaClock(): SessionMediaClock | undefined {
    return this.#mediaClock;
  }

  /** From now on the face follows this source while it has something to say. */
  attachVoice(voice: SpeakingSource) {
    this.#voice = voice;
  }

  /**
   * The voice was interrupted: the face returns to idle at once (the next frame sent, as for
   * `setSpeaking`), and the application's speaking state is reset.
   */
  interruptVoice(receivedAt = performance.now()): Promise<SpeakingChange> {
    this.#voiceDriving = false;
    return this.setSpeaking(false, receivedAt);
  }

  /**
   * Asks for the speaking state; resolves when the first packet of the new loop has been sent
   * (at once if the session is live, else with its first frame). Repeating the current state
   * resolves immediately with where the session is.
   */
  setSpeaking(speaking: boolean, receivedAt = performance.now()): Promise<SpeakingChange> {
    if (this.#closed) return Promise.reject(AvatarServerError.sessionNotFound(this.id));
    this.#appSpeaking = speaking;
    if (this.#voiceDriving) {
      // The audio drives the face; the application's state applies once it has played.
      const now = this.#change(this.#speaking, this.#clock.nextTick - 1, receivedAt);
      return Promise.resolve({ ...now, audio: true });
    }
    if (this.#pending === null && speaking === this.#speaking) {
      return Promise.resolve(this.#change(speaking, this.#clock.nextTick - 1, receivedAt));
    }
    if (this.#lastSentTick < 0 && !this.#sender.ready) {
      // Not streaming yet: the first frame will simply be the entry point of the chosen loop.
      this.#log.debug({ speaking }, 'speaking set before the first frame');
      this.#speaking = speaking;
      this.#cursor = enterAt(this.#avatar, speaking ? 'speaking' : 'idle', 0);
      return Promise.resolve(this.#change(speaking, -1, receivedAt));
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, receivedAt };
      if (this.#pending) {
        this.#pending.speaking = speaking;
        this.#pending.waiters.push(waiter);
      } else {
        this.#pending = { speaking, waiters: [waiter], waitFrames: this.#framesToBestCut() };
      }
      // Without a wait, the change goes out now (see #switchTick for which tick's frame it is).
      if (this.#pending.waitFrames === 0) this.#sendFor(this.#switchTick());
    });
  }

  /**
   * How many frames to keep playing before cutting, within `switchWaitFrames`: the wait whose cut
   * is least visible, preferring the shortest wait unless a later cut is clearly (25%) better.
   */
  #framesToBestCut(): number {
    if (this.#switchWaitFrames === 0) return 0;
    const loop = this.#cursor.loop;
    const n = this.#avatar.loops[loop].frameCount;
    const ratios = this.#avatar.cutRatios[loop];
    const shown = (this.#cursor.frame + n - 1) % n;
    let best = 0;
    let bestRatio = ratios[shown]!;
    for (let w = 1; w <= this.#switchWaitFrames; w++) {
      const ratio = ratios[(shown + w) % n]!;
      if (ratio < 0.75 * bestRatio) {
        best = w;
        bestRatio = ratio;
      }
    }
    return best;
  }

  /**
   * The tick whose frame carries an immediate switch: the current tick's if this session has not
   * sent it yet (the registry sends a tick's frames in slices spread over the period, and this
   * session's slice has not come), else the upcoming tick's. That tick is then skipped for this
   * session, so it still sends one frame per tick, in order, with the tick's RTP timestamp.
   */
  #switchTick(): number {
    const next = this.#clock.nextTick;
    return this.#lastSentTick === next - 2 ? next - 1 : next;
  }

  /**
   * The viewer can receive media: its first frame (a keyframe: the cursor is an entry point) goes
   * out now, as the frame of the current tick, rather than at the next tick or send slice (up to
   * a frame period later). The session's next frame is then the next tick's, as for any other.
   */
  startNow() {
    if (this.#lastSentTick >= 0 || !this.#sender.ready) return;
    this.#sendFor(Math.max(0, this.#clock.nextTick - 1));
  }

  /** A PLI or FIR from the receiver: the next frame is the keyframe version of that frame. */
  requestKeyframe() {
    this.stats.keyframeRequests++;
    this.#keyframeRequested = true;
  }

  /** Called by the frame clock for every tick. */
  onTick(tick: number) {
    this.#sendFor(tick);
  }

  close(reason = 'closed') {
    if (this.#closed) return;
    this.#closed = true;
    const waiters = this.#pending?.waiters ?? [];
    this.#pending = null;
    this.#log.debug(
      { reason, framesSent: this.stats.framesSent, unansweredChanges: waiters.length },
      'session closed',
    );
    for (const waiter of waiters) {
      waiter.reject(
        new AvatarServerError(
          'session_not_found',
          `the session ended (${reason}) before the change was sent`,
        ),
      );
    }
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  #sendFor(tick: number) {
    if (this.#closed || tick <= this.#lastSentTick) return;
    if (!this.#sender.ready) {
      // Said once per pause, never per tick: the connection went away under a live session.
      if (this.#lastSentTick >= 0 && !this.#paused) {
        this.#paused = true;
        this.#log.debug({ tick }, 'sender not ready: frames paused');
      }
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      this.#log.debug({ tick }, 'sender ready again: frames resumed');
    }
    if (this.#firstTick < 0) {
      this.#firstTick = tick;
      const originMs = this.#clock.dueAt(tick);
      this.#mediaClock = {
        originMs,
        originEpochMs: performance.timeOrigin + originMs,
        videoBase: this.#timestampBase,
        audioBase: this.#audioBase,
      };
      this.#sender.setMediaClock?.(this.#mediaClock);
      this.#log.debug({ tick, loop: this.#cursor.loop }, 'first frame');
    }
    this.#lastSentTick = tick;
    if (this.#voice) this.#followVoice(tick);

    let pending = this.#pending;
    if (pending && pending.waitFrames > 0 && pending.speaking !== this.#speaking) {
      pending.waitFrames--; // one more frame of the current loop, for a better cut after it
      pending = null;
    } else {
      this.#pending = null;
    }
    let switched = false;
    if (pending && pending.speaking !== this.#speaking) {
      this.#speaking = pending.speaking;
      this.stats.switches++;
      switched = true;
      // The cut the analysis chose for the frame on screen (the one before the cursor).
      const from = this.#cursor.loop;
      const n = this.#avatar.loops[from].frameCount;
      const shown = (this.#cursor.frame + n - 1) % n;
      this.#cursor = enterAt(this.#avatar, otherLoop(from), this.#avatar.cuts[from][shown]!);
      this.#log.debug(
        { from, shown, to: this.#cursor.loop, frame: this.#cursor.frame, tick },
        'switched',
      );
    }
    if (!switched && this.#keyframeRequested && !frameAt(this.#avatar, this.#cursor).keyframe) {
      this.#cursor = enterAt(this.#avatar, this.#cursor.loop, this.#cursor.frame);
      this.#log.debug(
        { loop: this.#cursor.loop, frame: this.#cursor.frame },
        'keyframe sent for a request',
      );
    }
    this.#keyframeRequested = false;

    const frame = frameAt(this.#avatar, this.#cursor);
    const sentAt = Date.now();
    this.#send(frame, tick);
    if (pending) {
      // A switch the voice made has no waiter (and no request latency): marked `audio`.
      let change: SpeakingChange = {
        ...this.#change(this.#speaking, tick, performance.now(), frame, sentAt),
        audio: true,
      };
      for (const waiter of pending.waiters) {
        change = this.#change(this.#speaking, tick, waiter.receivedAt, frame, sentAt);
        waiter.resolve(change);
      }
      if (switched) this.emit('speakingchange', change);
    }
    this.#cursor = advance(this.#avatar, this.#cursor);
  }

  /** While audio plays, the frame of `tick` shows what the audio does at that media time. */
  #followVoice(tick: number) {
    const period = this.#clock.periodMs;
    const wanted = this.#voice!.speakingFor((tick - this.#firstTick) * period, period);
    // When the audio has played, the application's state applies again.
    const target = wanted ?? (this.#voiceDriving ? this.#appSpeaking : undefined);
    this.#voiceDriving = wanted !== undefined;
    if (target === undefined || target === (this.#pending?.speaking ?? this.#speaking)) return;
    if (this.#pending) {
      this.#pending.speaking = target;
      this.#pending.waitFrames = 0;
    } else this.#pending = { speaking: target, waiters: [], waitFrames: 0 };
  }

  #send(frame: PacketizedFrame, tick: number) {
    const timestamp =
      (this.#timestampBase +
        Math.round(((tick - this.#firstTick) * RTP_CLOCK) / this.#avatar.fps)) >>>
      0;
    const payloads = frame.payloads;
    const last = payloads.length - 1;
    // A plain loop: this runs for every frame of every session (no closure per frame).
    for (let i = 0; i <= last; i++) {
      this.#sender.send(payloads[i]!, this.#sequence, timestamp, i === last);
      this.#sequence = (this.#sequence + 1) & 0xffff;
    }
    this.stats.framesSent++;
    this.stats.packetsSent += frame.payloads.length;
    this.stats.bytesSent += frame.bytes;
    if (frame.keyframe) this.stats.keyframesSent++;
  }

  #change(
    speaking: boolean,
    tick: number,
    receivedAt: number,
    frame?: PacketizedFrame,
    sentAt = Date.now(),
  ): SpeakingChange {
    return {
      speaking,
      loop: speaking ? 'speaking' : 'idle',
      frame: frame?.frame ?? this.#cursor.frame,
      tick,
      sentAt,
      latencyMs: Math.max(0, performance.now() - receivedAt),
    };
  }
}
