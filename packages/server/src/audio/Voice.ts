import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AvatarServerError } from '../lib/errors.js';
import { realTime, type TimeSource } from '../session/frameClock.js';
import type { AudioSender } from '../session/viewerPeer.js';
import { OpusEncoder, type PcmRate } from './opusEncoder.js';
import { isVoiced } from './voiced.js';

/** One audio frame: 20 ms, the RTP timestamp step at 48 kHz is 960. */
export const FRAME_MS = 20;
const RTP_STEP = 960;
/**
 * Frames late (a stalled event loop) that are still sent at once to catch up; beyond, playback
 * continues from the current frame (the timestamps skip, no sample is dropped).
 */
const MAX_CATCH_UP = 10;
/**
 * Audio received before an utterance starts playing: a whole file (decoded far faster than real
 * time) starts with 1 s buffered or once decoded, so a slow moment of ffmpeg does not cut a word;
 * a stream starts with 60 ms, its own jitter buffer against chunks that come late.
 */
const PREBUFFER_MS = { whole: 1000, streaming: 60 };
/**
 * Frames of encoded silence sent after the last frame of audio (the queue drained, an interrupt,
 * a stream that stalls). Without them the receiver's jitter buffer ends on sound, which its loss
 * concealment stretches and fades for a few hundred milliseconds, and the encoder keeps the
 * unsent tail of that sound (its look-ahead) for the first packet of the next utterance: heard as
 * a blip of the previous voice. Three frames (60 ms) flush the encoder and leave the receiver's
 * buffer ending in silence (docs/audio.md, "When the voice stops").
 */
const TAIL_FRAMES = 3;

export type VoiceSettings = {
  /** Silence after voiced audio before the face returns to idle. */
  silenceMs: number;
  /** How much later than its audio the face follows it (the receiver's longer audio path). */
  faceDelayMs: number;
  /** RMS level (16-bit) above which a frame is voiced. */
  voiceThreshold: number;
  /** Utterances queued or playing at once, per session. */
  maxQueue: number;
  /** Audio received and not yet played, per session, in seconds: its memory is bounded. */
  maxBufferedSeconds: number;
};

export type SpeechEventName = 'start' | 'end' | 'drained' | 'interrupted';
export type SpeechEvent = { type: 'speech'; event: SpeechEventName; id: string };

/** What GET on the session shows of its voice. */
export type VoiceState = {
  /** The face follows the audio now (an utterance plays, or its silence tail). */
  speaking: boolean;
  queue: number;
  current: { id: string; playedMs: number; receivedMs: number; streaming: boolean } | null;
  utterances: number;
  audioSeconds: number;
};

/**
 * The session's media clock as the voice needs it (see Session.mediaClock), and how long after
 * its media time the session sends its video (its send slice, SessionRegistry.sendOffsetMs).
 * The voice sends each audio frame that much after its media time too: each voice's encode falls
 * in its own session's slice, where at the bare 20 ms boundaries every speaking session's encode
 * queued in front of the same video slices and made their frames late (docs/benchmarks.md,
 * "Audio and sessions per core"); and audio and video reach the viewer equally late against
 * their timestamps, which leaves a receiver's A/V synchronisation nothing to correct.
 */
export type VoiceClockValue = { originMs: number; audioBase: number; sendOffsetMs?: number };
export type VoiceClock = () => VoiceClockValue | undefined;

type Utterance = {
  id: string;
  rate: PcmRate;
  chunks: Int16Array[];
  /** Samples received and not yet played. */
  buffered: number;
  received: number;
  played: number;
  /** No more samples will come (the upload or stream ended). */
  ended: boolean;
  started: boolean;
  streaming: boolean;
};

/**
 * A session's voice: the utterances the application sent, played in order as 20 ms Opus frames
 * on the session's audio track, on the session's media clock (frame n plays at media time n·20 ms,
 * so audio and video RTP timestamps map to one clock). It runs a timer only while it has audio to
 * send: a silent session encodes and schedules nothing.
 *
 * It also tells the session when the face speaks (`speakingFor`): voiced audio playing in a video
 * frame's interval switches to the speaking loop on that very frame, and `silenceMs` of silence
 * brings the idle loop back (shorter pauses, inside and between words, do not flap).
 */
export class Voice extends EventEmitter<{ speech: [event: SpeechEvent, playedSeconds: number] }> {
  #sender: AudioSender;
  #clock: VoiceClock;
  #settings: VoiceSettings;
  #time: TimeSource;
  #queue: Utterance[] = [];
  #encoders = new Map<PcmRate, OpusEncoder>();
  #sequence = randomBytes(2).readUInt16BE();
  /** Next audio slot (frame index on the media clock) to send; -1: not playing. */
  #nextSlot = -1;
  #cancelTimer: (() => void) | null = null;
  /** Whether recent slots (already sent) were voiced, by slot, for the face's decision. */
  #voicedSlots = new Map<number, boolean>();
  /** The face's state as the audio drives it, and the media time voiced audio last played. */
  #speaking = false;
  #lastVoicedMs = Number.NEGATIVE_INFINITY;
  /** The first packet after a pause carries the RTP marker (start of a talkspurt). */
  #gap = true;
  #playedSomething = false;
  /** Silent frames still to send after the last frame of audio (TAIL_FRAMES), and at what rate. */
  #tailLeft = 0;
  #tailRate: PcmRate = 48_000;
  #lastId = '';
  #closed = false;
  /** Utterances dropped because the session held too much unplayed audio (end() reports it). */
  #overflowed = new Set<string>();
  utterances = 0;
  audioSeconds = 0;

  constructor(
    sender: AudioSender,
    clock: VoiceClock,
    settings: VoiceSettings,
    time: TimeSource = realTime,
  ) {
    super();
    this.#sender = sender;
    this.#clock = clock;
    this.#settings = settings;
    this.#time = time;
  }

  /** Utterances waiting or playing. */
  get queued() {
    return this.#queue.length;
  }

  get state(): VoiceState {
    const u = this.#queue[0];
    const ms = (samples: number, rate: number) => Math.round((samples * 1000) / rate);
    return {
      speaking: this.#speaking,
      queue: this.#queue.length,
      current: u
        ? {
            id: u.id,
            playedMs: ms(u.played, u.rate),
            receivedMs: ms(u.received, u.rate),
            streaming: u.streaming,
          }
        : null,
      utterances: this.utterances,
      audioSeconds: Math.round(this.audioSeconds * 1000) / 1000,
    };
  }

  /**
   * Queues a new utterance of mono PCM at `rate`; its samples follow with `push` and `end`.
   * Returns its id and its place in the queue (0: it plays now).
   */
  open(rate: PcmRate, options: { streaming?: boolean; id?: string } = {}) {
    if (this.#closed) throw new AvatarServerError('session_not_found', 'the session ended');
    if (this.#queue.length >= this.#settings.maxQueue) {
      throw new AvatarServerError(
        'rate_limited',
        `this session already has ${this.#queue.length} utterances queued (at most ${this.#settings.maxQueue}): wait for one to play, or interrupt`,
        { retryAfterSeconds: 1 },
      );
    }
    const id = options.id ?? randomBytes(9).toString('base64url');
    this.#queue.push({
      id,
      rate,
      chunks: [],
      buffered: 0,
      received: 0,
      played: 0,
      ended: false,
      started: false,
      streaming: options.streaming ?? false,
    });
    this.utterances++;
    return { id, queued: this.#queue.length - 1 };
  }

  /**
   * More samples of an open utterance (ignored once it was interrupted). Beyond
   * `maxBufferedSeconds` of unplayed audio in the session, the utterance is dropped and false
   * returned: a session's memory is bounded whatever its clients send.
   */
  push(id: string, samples: Int16Array): boolean {
    const u = this.#queue.find((q) => q.id === id);
    if (!u || u.ended || samples.length === 0) return !this.#overflowed.has(id);
    const buffered = this.#queue.reduce((sum, q) => sum + q.buffered / q.rate, 0);
    if (buffered + samples.length / u.rate > this.#settings.maxBufferedSeconds) {
      this.cancel(id);
      this.#overflowed.add(id);
      return false;
    }
    u.chunks.push(samples);
    u.buffered += samples.length;
    u.received += samples.length;
    this.#play();
    return true;
  }

  /** No more samples for this utterance; returns its duration (what was received). */
  end(id: string): { durationMs: number; overflowed?: true } | undefined {
    if (this.#overflowed.delete(id)) return { durationMs: 0, overflowed: true };
    const u = this.#queue.find((q) => q.id === id);
    if (!u) return undefined;
    u.ended = true;
    // An utterance that ended without a sample is dropped at once (it would play nothing).
    this.#play();
    return { durationMs: Math.round((u.received * 1000) / u.rate) };
  }

  /**
   * Drops one utterance whose upload failed (a decode error, a limit exceeded): if it was
   * already playing it stops, as an interrupt of that utterance alone.
   */
  cancel(id: string) {
    const index = this.#queue.findIndex((q) => q.id === id);
    if (index < 0) return;
    const [u] = this.#queue.splice(index, 1);
    if (u?.started) this.#emit('interrupted', u.id, u.played / u.rate);
  }

  /**
   * Stops the voice now: from the next 20 ms frame on only the silent tail is sent (the packet of
   * the current frame is already out), the queue is dropped. Returns the utterance that was
   * playing and how many were dropped.
   */
  interrupt(): { id: string | null; dropped: number } {
    const dropped = this.#queue.length;
    const head = this.#queue[0];
    const id = head?.id ?? null;
    this.#queue = [];
    // The timer keeps running for the silent tail (if audio was playing), then stops. A fresh
    // encoder makes that tail silent but for the decoder's ~4 ms overlap: the old one, holding
    // the voice it was cut in, went on sounding for 19.7 ms of the tail's first frame.
    this.#playedSomething = false;
    this.#encoders.get(this.#tailRate)?.delete();
    this.#encoders.delete(this.#tailRate);
    if (this.#tailLeft === 0) this.#stop();
    this.#speaking = false;
    this.#lastVoicedMs = Number.NEGATIVE_INFINITY;
    // Slots already sent stay voiced in the map; a video frame sent later in its tick (its send
    // slice) covers some of them and would turn the face back to speaking for `silenceMs`.
    this.#voicedSlots.clear();
    if (head) this.#emit('interrupted', head.id, head.started ? head.played / head.rate : 0);
    return { id, dropped };
  }

  close() {
    this.#closed = true;
    this.#queue = [];
    this.#stop();
    for (const encoder of this.#encoders.values()) encoder.delete();
    this.#encoders.clear();
    this.removeAllListeners();
  }

  /**
   * The face for the video frame at media time `mediaMs`, shown for `periodMs`: true when voiced
   * audio plays near that frame, false when audio plays but has been silent for `silenceMs`,
   * undefined when the voice has nothing to say (the application's `setSpeaking` rules then).
   * "Near" is the frame's period centred on its time, `faceDelayMs` earlier: the speaking loop
   * starts on the frame nearest to where the voice starts as the viewer hears it, rather than on
   * the frame whose interval holds it (up to a frame early). Frames not yet sent are read from
   * the buffered samples, so the switch lands on its frame even with no delay.
   */
  speakingFor(mediaMs: number, periodMs: number): boolean | undefined {
    const from = mediaMs - this.#settings.faceDelayMs - periodMs / 2;
    const first = Math.ceil(from / FRAME_MS - 1e-9);
    const last = Math.ceil((from + periodMs) / FRAME_MS - 1e-9) - 1;
    for (let slot = first; slot <= last; slot++) {
      if (this.#voicedAt(slot)) {
        this.#speaking = true;
        this.#lastVoicedMs = Math.max(this.#lastVoicedMs, (slot + 1) * FRAME_MS);
      }
    }
    if (this.#speaking && from - this.#lastVoicedMs >= this.#settings.silenceMs) {
      this.#speaking = false;
    }
    return this.#speaking || this.#queue.length > 0 ? this.#speaking : undefined;
  }

  /** Whether the frame of audio slot `slot` is voiced: remembered if sent, read ahead if buffered. */
  #voicedAt(slot: number): boolean {
    const known = this.#voicedSlots.get(slot);
    if (known !== undefined) return known;
    const base = this.#nextSlot >= 0 ? this.#nextSlot : this.#startSlot();
    if (base === undefined || slot < base) return false;
    const frame = this.#peek(slot - base);
    return frame ? isVoiced(frame.samples, this.#settings.voiceThreshold) : false;
  }

  /** The slot playback would start at if it started now (the next one not yet due to be sent). */
  #startSlot(): number | undefined {
    const clock = this.#clock();
    if (!clock) return undefined;
    const origin = clock.originMs + (clock.sendOffsetMs ?? 0);
    return Math.max(0, Math.ceil((this.#time.now() - origin) / FRAME_MS));
  }

  /** The k-th frame from now in the queue, without taking it; null if not received yet. */
  #peek(k: number): { samples: Int16Array } | null {
    for (const u of this.#queue) {
      const size = u.rate / 50;
      if (!u.started && !u.ended && u.buffered < prebuffer(u)) return null;
      const frames = u.ended ? Math.ceil(u.buffered / size) : Math.floor(u.buffered / size);
      if (k < frames) return { samples: readSamples(u, k * size, size) };
      if (!u.ended) return null;
      k -= frames;
    }
    return null;
  }

  /** Takes the next frame to play, or null (nothing buffered); emits start, end, drained. */
  #take(): { samples: Int16Array; utterance: Utterance } | null {
    while (this.#queue.length > 0) {
      const u = this.#queue[0]!;
      const size = u.rate / 50;
      if (!u.started && !u.ended && u.buffered < prebuffer(u)) return null;
      if (u.buffered >= size || (u.ended && u.buffered > 0)) {
        const samples = readSamples(u, 0, size);
        consume(u, Math.min(size, u.buffered));
        if (!u.started) {
          u.started = true;
          this.#emit('start', u.id);
        }
        u.played += size;
        return { samples, utterance: u };
      }
      if (!u.ended) return null; // a stream waiting for its next chunk
      this.#queue.shift();
      this.#lastId = u.id;
      if (u.started) this.#emit('end', u.id, u.played / u.rate);
    }
    return null;
  }

  #emit(event: SpeechEventName, id: string, playedSeconds = 0) {
    this.emit('speech', { type: 'speech', event, id }, playedSeconds);
  }

  /** Starts the frame timer if there is something to play and it is not running. */
  #play() {
    if (this.#cancelTimer || this.#closed) return;
    if (this.#queue.length === 0) return;
    const start = this.#startSlot();
    if (start === undefined) {
      // No video frame yet (the viewer is still connecting): try again in a frame.
      this.#cancelTimer = this.#time.setTimer(() => {
        this.#cancelTimer = null;
        this.#play();
      }, FRAME_MS);
      return;
    }
    this.#nextSlot = start;
    this.#schedule();
  }

  #stop() {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#nextSlot = -1;
    this.#gap = true;
    this.#tailLeft = 0;
  }

  #schedule() {
    const clock = this.#clock();
    if (!clock) return;
    const due = clock.originMs + (clock.sendOffsetMs ?? 0) + this.#nextSlot * FRAME_MS;
    this.#cancelTimer = this.#time.setTimer(() => this.#fire(), due - this.#time.now());
  }

  #fire() {
    this.#cancelTimer = null;
    const clock = this.#clock();
    if (!clock || this.#closed) return;
    const now = this.#time.now();
    const origin = clock.originMs + (clock.sendOffsetMs ?? 0);
    const behind = Math.floor((now - origin) / FRAME_MS) - this.#nextSlot;
    if (behind > MAX_CATCH_UP) {
      // A stalled loop: continue at the current slot (the timestamps skip; a gap, not a burst).
      this.#nextSlot += behind;
      this.#gap = true;
    }
    while (origin + this.#nextSlot * FRAME_MS <= now) {
      const slot = this.#nextSlot++;
      const frame = this.#take();
      if (!frame) {
        const waiting = this.#queue.length > 0; // a stream waiting for its next chunk
        if (!waiting && this.#playedSomething) {
          this.#playedSomething = false;
          this.#emit('drained', this.#lastId);
        }
        this.#voicedSlots.set(slot, false);
        if (this.#tailLeft > 0) {
          this.#tailLeft--;
          this.#sendFrame(slot, silence(this.#tailRate), this.#tailRate, clock.audioBase);
          continue;
        }
        this.#gap = true;
        if (!waiting) {
          this.#stop();
          return;
        }
        continue; // nothing sent in this slot
      }
      this.#send(slot, frame.samples, frame.utterance.rate, clock.audioBase);
    }
    this.#pruneVoiced();
    this.#schedule();
  }

  /** Sends one frame of an utterance. */
  #send(slot: number, samples: Int16Array, rate: PcmRate, audioBase: number) {
    this.#voicedSlots.set(slot, isVoiced(samples, this.#settings.voiceThreshold));
    this.#sendFrame(slot, samples, rate, audioBase);
    this.#playedSomething = true;
    this.#tailLeft = TAIL_FRAMES;
    this.#tailRate = rate;
    this.audioSeconds += FRAME_MS / 1000;
  }

  /** Encodes one 20 ms frame and sends it as the audio of slot `slot`. */
  #sendFrame(slot: number, samples: Int16Array, rate: PcmRate, audioBase: number) {
    let encoder = this.#encoders.get(rate);
    if (!encoder) {
      encoder = new OpusEncoder(rate);
      this.#encoders.set(rate, encoder);
    }
    const payload = encoder.encode(samples);
    const timestamp = (audioBase + slot * RTP_STEP) >>> 0;
    this.#sender.sendAudio(payload, this.#sequence, timestamp, this.#gap);
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#gap = false;
  }

  /** Keeps the voiced flags of the last second only. */
  #pruneVoiced() {
    if (this.#voicedSlots.size < 100) return;
    const keepFrom = this.#nextSlot - 50;
    for (const slot of this.#voicedSlots.keys()) {
      if (slot < keepFrom) this.#voicedSlots.delete(slot);
    }
  }
}

const silent = new Map<PcmRate, Int16Array>();
/** 20 ms of silence at `rate` (shared: the encoder only reads it). */
function silence(rate: PcmRate): Int16Array {
  let frame = silent.get(rate);
  if (!frame) {
    frame = new Int16Array(rate / 50);
    silent.set(rate, frame);
  }
  return frame;
}

/** Samples an utterance needs before it starts (PREBUFFER_MS). */
function prebuffer(u: Utterance): number {
  return ((u.streaming ? PREBUFFER_MS.streaming : PREBUFFER_MS.whole) * u.rate) / 1000;
}

/** `count` samples of an utterance's buffer from `offset`, zero-padded past its end. */
function readSamples(u: Utterance, offset: number, count: number): Int16Array {
  const out = new Int16Array(count);
  let written = 0;
  let skip = offset;
  for (const chunk of u.chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    const part = chunk.subarray(skip, Math.min(chunk.length, skip + count - written));
    out.set(part, written);
    written += part.length;
    skip = 0;
    if (written === count) break;
  }
  return out;
}

/** Drops `count` played samples from the front of an utterance's buffer. */
function consume(u: Utterance, count: number) {
  u.buffered -= count;
  while (count > 0 && u.chunks.length > 0) {
    const head = u.chunks[0]!;
    if (head.length <= count) {
      count -= head.length;
      u.chunks.shift();
    } else {
      u.chunks[0] = head.subarray(count);
      count = 0;
    }
  }
}
