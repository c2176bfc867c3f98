import type { VideoSender } from './videoSender.js';

/**
 * What a session needs from a viewer's WebRTC connection, beyond sending video: our interface,
 * implemented by the werift adapter (webrtc/AvatarPeer.ts), so session/ never imports werift.
 */

export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** A text message on the control channel and a way to answer on that channel. */
export type ControlHandler = (text: string, reply: (text: string) => void) => void;
/** A binary message on the control channel (streamed PCM, docs/audio.md). */
export type BinaryHandler = (data: Buffer, reply: (text: string) => void) => void;

/**
 * A session's one media clock: media time 0 is `originEpochMs` (the due time of its first video
 * frame), where the video RTP timestamp is `videoBase` (90 kHz) and the audio one `audioBase`
 * (48 kHz). Sender reports of both tracks are computed from it, so a receiver maps both to one
 * NTP time and can play them in sync.
 */
export type MediaClock = { originEpochMs: number; videoBase: number; audioBase: number };

/** What a session's voice needs from the peer: an Opus track to send on. */
export interface AudioSender {
  /** True when an Opus track was negotiated (an offer receiving Opus, or `/streams` with audio). */
  readonly hasAudio: boolean;
  readonly ready: boolean;
  sendAudio(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): void;
}

/** One trickled ICE candidate line (`candidate:…`, without `a=`) and its media section. */
export type RemoteCandidate = { candidate: string; sdpMid?: string };

export interface ViewerPeer extends VideoSender, AudioSender {
  /** A picture-loss indication (PLI) from the receiver. */
  onKeyframeRequest(listener: () => void): void;
  /** Any RTCP from the receiver about our stream: its silence means the viewer is gone. */
  onReceiverRtcp(listener: () => void): void;
  onStateChange(listener: (state: PeerState) => void): void;
  /** Control-channel messages; `greeting` is sent as soon as a channel opens. */
  onControl(handler: ControlHandler, greeting?: () => string, binary?: BinaryHandler): void;
  /** A message to every open control channel (speech events). */
  sendControl(text: string): void;
  /** True for a peer that made the offer and still waits for the client's answer. */
  readonly awaitingAnswer: boolean;
  acceptAnswer(sdp: string): Promise<void>;
  /** The ICE username fragment the client sent, to tell a trickle PATCH from an ICE restart. */
  readonly remoteIceUfrag: string | undefined;
  addRemoteCandidates(candidates: RemoteCandidate[]): Promise<void>;
  close(): Promise<void>;
}

/** Makes the peers: answering a client's offer (WHEP) or making our own (the original API). */
export interface PeerFactory {
  answer(offer: string): Promise<{ peer: ViewerPeer; answer: string }>;
  offer(options?: { audio?: boolean }): Promise<{ peer: ViewerPeer; offer: string }>;
}
