/** Where a session stands. */
export type AvatarState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Options of {@link createAvatar}. */
export type AvatarOptions = {
  /** The avatar's WHEP endpoint, e.g. `https://host/whep/avatars/default`. */
  url: string;
  /** The `<video>` to play in, or an element to create one in. */
  video: HTMLVideoElement | HTMLElement;
  /**
   * Sent as `Authorization: Bearer <token>`. A function is called for every (re)connect, so
   * short-lived signed tokens are refreshed; a session's own requests (speaking, DELETE) send the
   * token that created it, the only one the server accepts there (it does not expire for them).
   */
  token?: string | (() => string | Promise<string>) | undefined;
  /**
   * ICE servers (pass TURN here). The server's `Link: rel="ice-server"` headers are added to these
   * from the next connection on (a reconnect): the first offer is made before they are known.
   */
  iceServers?: RTCIceServer[] | undefined;
  /** Aborts the connection attempt, or closes the avatar later. */
  signal?: AbortSignal | undefined;
  /**
   * How long to keep reconnecting after the connection is lost before giving up with a final
   * `disconnected` (reason `timeout`). Default 300 000 (5 minutes).
   */
  maxReconnectMs?: number | undefined;
  /**
   * Ask for the avatar's voice (an Opus track beside the video). Default `true`: the server sends
   * audio only while an utterance plays, so a silent avatar costs no bandwidth either way. Set
   * `false` when the page plays its own audio and drives `setSpeaking` (or `attachAudio`).
   */
  audio?: boolean | undefined;
  /**
   * Listeners added before connecting, so a page hears the first connection's events too, e.g.
   * `waiting` while the server prepares the avatar (createAvatar has not resolved yet then).
   */
  on?: { [E in keyof AvatarEvents]?: AvatarEvents[E] | undefined } | undefined;
};

/**
 * The server asked the SDK to wait (503 or 429 with `Retry-After`): the avatar is being prepared
 * (its first compile) or the server is busy. The SDK tries again after `retryInMs` by itself.
 */
export type AvatarWait = {
  /**
   * The server's answer: `status`, `problem.type` (`…:avatar_not_ready` while the avatar compiles,
   * `…:server_busy`, `…:rate_limited`) and its `detail` as `message`.
   */
  error: import('./errors.js').AvatarError;
  /** When the SDK asks again. */
  retryInMs: number;
  /** How far the compile is, 0–1, when the server says. */
  progress?: number | undefined;
  /** Seconds the compile still needs, when the server estimates it. */
  etaSeconds?: number | undefined;
};

/** What the server confirmed for a speaking change. */
export type SpeakingResult = {
  speaking: boolean;
  /** Server time from receiving the request to sending the first packet of the new loop. */
  latencyMs: number;
};

/**
 * What {@link Avatar.speak} plays: a whole utterance in any format the server's ffmpeg reads (a
 * `Blob`/`File`, bytes, a `Response`, or a URL to fetch), or a stream of raw 16-bit little-endian
 * mono PCM (`Int16Array` or byte chunks, e.g. from a text-to-speech API) at `options.rate`.
 */
export type SpeechSource =
  | Blob
  | ArrayBuffer
  | ArrayBufferView
  | Response
  | string
  | URL
  | ReadableStream<Uint8Array | Int16Array>;

/** Options of {@link Avatar.speak}. */
export type SpeakOptions = {
  /** Sample rate of a PCM stream: 16000, 24000 (default) or 48000. */
  rate?: 16_000 | 24_000 | 48_000 | undefined;
};

/** An utterance the avatar played: `interrupted` when `interrupt()` (or the backend) cut it. */
export type SpeechResult = { id: string; interrupted: boolean };

/** A reconnect attempt about to be made. */
export type ReconnectAttempt = {
  /** 1 for the first attempt after the connection was lost. */
  attempt: number;
  /** How long the SDK waits before this attempt. */
  delayMs: number;
};

/**
 * Typed listeners, one per event name.
 *
 * - `statechange`: every state change (`connecting` → `connected` ⇄ `reconnecting` → `closed`).
 * - `ready`: the first frame of a connection is on screen: just after createAvatar resolves, and
 *   again after each reconnect.
 * - `reconnecting`: the connection was lost (or an attempt failed) and the SDK tries again after
 *   `delayMs`. `reconnected`: a new session plays (the speaking state was re-applied).
 * - `disconnected`: final, once: the avatar is closed, with why (`closed` after close() or an
 *   abort; `timeout` after `maxReconnectMs`; `unauthorized`, `not-found`… when the server said no).
 * - `error`: a failure; `final` says whether the avatar gave up (then `disconnected` follows) or
 *   tries again.
 * - `autoplayblocked`: the browser wants a user gesture before it plays, or before it plays sound
 *   (after `unmute()`). Call `avatar.play()` or `avatar.unmute()` from a click (the SDK also
 *   retries on the page's next pointer or key press).
 * - `speechstart` / `speechend`: an utterance starts / stops playing (`interrupted` when cut),
 *   whoever sent it (this page, another of the session's clients, the backend).
 * - `waiting`: each 503/429 answer while connecting or reconnecting (pass it in `options.on` to
 *   hear the first connection's).
 */
export type AvatarEvents = {
  statechange: (state: AvatarState, previous: AvatarState) => void;
  speakingchange: (speaking: boolean, result: SpeakingResult) => void;
  ready: () => void;
  reconnecting: (attempt: ReconnectAttempt) => void;
  reconnected: () => void;
  disconnected: (reason: import('./errors.js').AvatarError) => void;
  error: (error: import('./errors.js').AvatarError, final: boolean) => void;
  autoplayblocked: () => void;
  speechstart: (speech: SpeechResult) => void;
  speechend: (speech: SpeechResult) => void;
  /** The server asked to wait, e.g. while it prepares the avatar; the SDK retries by itself. */
  waiting: (wait: AvatarWait) => void;
};

/** Options of {@link Avatar.attachAudio}. */
export type AttachAudioOptions = {
  /** RMS level (0..1) above which audio counts as speech. Default 0.02. */
  threshold?: number | undefined;
  /** Silence needed before speaking turns off, so pauses between words do not flap. Default 350. */
  hangoverMs?: number | undefined;
  /** Called with the speaking state instead of `setSpeaking`, to combine it with other inputs. */
  onSpeaking?: ((speaking: boolean) => void) | undefined;
};

/** Switch latency figures in milliseconds (setSpeaking call → first frame of the new loop shown). */
export type LatencyStats = {
  last?: number | undefined;
  p50?: number | undefined;
  p95?: number | undefined;
  count: number;
};

/** {@link Avatar.getStats} result. Times in milliseconds; undefined when not known yet. */
export type AvatarStats = {
  state: AvatarState;
  /** createAvatar call → first decoded frame on screen. */
  timeToFirstFrameMs?: number | undefined;
  switchLatency: LatencyStats;
  framesDecoded: number;
  framesDropped: number;
  framesPerSecond?: number | undefined;
  roundTripTimeMs?: number | undefined;
  /** Mean time a frame waited in the jitter buffer. */
  jitterBufferMs?: number | undefined;
  /** Mean decode time per frame. */
  decodeMs?: number | undefined;
};

/** A live avatar in a `<video>` element. */
export interface Avatar {
  readonly video: HTMLVideoElement;
  readonly state: AvatarState;
  /** The speaking state the application asked for (kept across reconnects). */
  readonly speaking: boolean;
  /** The WHEP session URL (changes when the avatar reconnects). */
  readonly sessionUrl: string | undefined;
  /**
   * Switches the avatar; resolves when the server has sent the first frame of the new loop. While
   * reconnecting, only the latest wish is kept: the calls made meanwhile share one promise, which
   * settles once the new session runs it (or rejects when the avatar closes).
   */
  setSpeaking(speaking: boolean): Promise<SpeakingResult>;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof AvatarEvents>(event: E, listener: AvatarEvents[E]): () => void;
  /** Adds a listener for the next such event only; returns a function that removes it. */
  once<E extends keyof AvatarEvents>(event: E, listener: AvatarEvents[E]): () => void;
  off<E extends keyof AvatarEvents>(event: E, listener: AvatarEvents[E]): void;
  /**
   * Starts playback after `autoplayblocked`: call it from a user gesture (a "tap to play"
   * button). Resolves once playing; rejects if the browser still refuses.
   */
  play(): Promise<void>;
  /**
   * Lets the audio level of an element or stream drive `setSpeaking`; returns a detach function
   * (close() detaches too).
   */
  attachAudio(
    source: HTMLMediaElement | MediaStream,
    options?: AttachAudioOptions | undefined,
  ): () => void;
  /**
   * Says an utterance with the avatar's voice, the face speaking in sync; utterances queue in
   * order. Resolves when it has played, or was interrupted (`interrupted: true`); rejects when the
   * server refuses it (e.g. not audio, too large) or the connection is lost.
   */
  speak(source: SpeechSource, options?: SpeakOptions | undefined): Promise<SpeechResult>;
  /** Stops the voice at once and drops the queued utterances; the face returns to idle. */
  interrupt(): Promise<void>;
  /** Whether the `<video>` is muted (the SDK starts it muted so that autoplay works). */
  readonly muted: boolean;
  /**
   * Turns the sound on: call it from a user gesture (a click). If the browser refuses, the video
   * keeps playing muted, `autoplayblocked` is emitted and the promise rejects; the SDK tries again
   * on the page's next pointer or key press.
   */
  unmute(): Promise<void>;
  /** The connection's figures; after close(), the last ones it had (with `state: 'closed'`). */
  getStats(): Promise<AvatarStats>;
  /** Ends the session (DELETE). Safe to call more than once. */
  close(): Promise<void>;
}
