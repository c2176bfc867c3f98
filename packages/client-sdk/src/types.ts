/** Where a session stands. */
export type AvatarState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Options of {@link createAvatar}. */
export type AvatarOptions = {
  /** The avatar's WHEP endpoint, e.g. `https://host/whep/avatars/default`. */
  url: string;
  /** The `<video>` to play in, or an element to create one in. */
  video: HTMLVideoElement | HTMLElement;
  /** Sent as `Authorization: Bearer <token>` on every request. */
  token?: string;
  /**
   * ICE servers (pass TURN here). The server's `Link: rel="ice-server"` headers are added to these
   * from the next connection on (a reconnect): the first offer is made before they are known.
   */
  iceServers?: RTCIceServer[];
  /** Aborts the connection attempt, or closes the avatar later. */
  signal?: AbortSignal;
  /**
   * Listeners added before connecting, so a page hears the first connection's events too, e.g.
   * `waiting` while the server prepares the avatar (createAvatar has not resolved yet then).
   */
  on?: { [E in keyof AvatarEvents]?: AvatarEvents[E] };
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
  progress?: number;
  /** Seconds the compile still needs, when the server estimates it. */
  etaSeconds?: number;
};

/** What the server confirmed for a speaking change. */
export type SpeakingResult = {
  speaking: boolean;
  /** Server time from receiving the request to sending the first packet of the new loop. */
  latencyMs: number;
};

/**
 * Typed listeners, one per event name. `waiting` fires on each 503/429 answer while connecting or
 * reconnecting (pass it in `options.on` to hear the first connection's). `ready` fires once the first frame of a connection is on
 * screen: just after createAvatar resolves, and again after each reconnect. `error` reports a
 * failed reconnect attempt, a final one (then the state is `closed`: not-found, unauthorized…),
 * and `autoplay`: the browser wants a user gesture before it plays (the SDK retries on the next
 * one; a page can also call `avatar.video.play()` from a "tap to play" control).
 */
export type AvatarEvents = {
  statechange: (state: AvatarState, previous: AvatarState) => void;
  speakingchange: (speaking: boolean, result: SpeakingResult) => void;
  ready: () => void;
  error: (error: import('./errors.js').AvatarError) => void;
  /** The server asked to wait, e.g. while it prepares the avatar; the SDK retries by itself. */
  waiting: (wait: AvatarWait) => void;
};

/** Options of {@link Avatar.attachAudio}. */
export type AttachAudioOptions = {
  /** RMS level (0..1) above which audio counts as speech. Default 0.02. */
  threshold?: number;
  /** Silence needed before speaking turns off, so pauses between words do not flap. Default 350. */
  hangoverMs?: number;
  /** Called with the speaking state instead of `setSpeaking`, to combine it with other inputs. */
  onSpeaking?: (speaking: boolean) => void;
};

/** Switch latency figures in milliseconds (setSpeaking call → first frame of the new loop shown). */
export type LatencyStats = { last?: number; p50?: number; p95?: number; count: number };

/** {@link Avatar.getStats} result. Times in milliseconds; undefined when not known yet. */
export type AvatarStats = {
  state: AvatarState;
  /** createAvatar call → first decoded frame on screen. */
  timeToFirstFrameMs?: number;
  switchLatency: LatencyStats;
  framesDecoded: number;
  framesDropped: number;
  framesPerSecond?: number;
  roundTripTimeMs?: number;
  /** Mean time a frame waited in the jitter buffer. */
  jitterBufferMs?: number;
  /** Mean decode time per frame. */
  decodeMs?: number;
};

/** A live avatar in a `<video>` element. */
export interface Avatar {
  readonly video: HTMLVideoElement;
  readonly state: AvatarState;
  /** The speaking state the application asked for (kept across reconnects). */
  readonly speaking: boolean;
  /** The WHEP session URL (changes when the avatar reconnects). */
  readonly sessionUrl: string | undefined;
  /** Switches the avatar; resolves when the server has sent the first frame of the new loop. */
  setSpeaking(speaking: boolean): Promise<SpeakingResult>;
  on<E extends keyof AvatarEvents>(event: E, listener: AvatarEvents[E]): void;
  off<E extends keyof AvatarEvents>(event: E, listener: AvatarEvents[E]): void;
  /**
   * Lets the audio level of an element or stream drive `setSpeaking`; returns a detach function
   * (close() detaches too).
   */
  attachAudio(source: HTMLMediaElement | MediaStream, options?: AttachAudioOptions): () => void;
  getStats(): Promise<AvatarStats>;
  /** Ends the session (DELETE). Safe to call more than once. */
  close(): Promise<void>;
}
