import type { MediaClock } from './viewerPeer.js';

/**
 * What a session needs from the WebRTC layer to send video: a small interface of ours, so that
 * werift (whose API changes between versions) stays behind one adapter in webrtc/.
 */
export interface VideoSender {
  /** True once ICE and DTLS are up: packets sent before would be dropped. */
  readonly ready: boolean;
  /** Sends one RTP packet carrying `payload`; the sender adds SSRC, payload type and SRTP. */
  send(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): void;
  /** Told which session it sends for, so that its log lines name that session. */
  forSession?(sessionId: string): void;
  /** Told the session's media clock with its first frame: sender reports start from it. */
  setMediaClock?(clock: MediaClock): void;
}
