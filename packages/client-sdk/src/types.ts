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
};

/** What the server confirmed for a speaking change. */
export type SpeakingResult = {
  speaking: boolean;
  /** Server time from receiving the request to sending the first packet of the new loop. */
  latencyMs: number;
};

/**
 * Typed listeners, one per event name. `ready` fires once the first frame of a connection is on
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
