import type { PcmRate } from '../audio/opusEncoder.js';
import type { SpeechEventName, VoiceSettings, VoiceState } from '../audio/Voice.js';
import { AvatarServerError, type ErrorCode } from '../lib/errors.js';
import type { LoopName } from '../media/compiledAvatar.js';
import type { SharedAvatar } from '../rtp/sharedAvatar.js';
import type { Cursor } from '../session/cursor.js';
import type { SessionStats, SpeakingChange } from '../session/Session.js';
import type { SliceReport } from '../session/SessionRegistry.js';
import type { RemoteCandidate } from '../session/viewerPeer.js';
import type { IceOptions } from '../webrtc/AvatarPeer.js';
import { OfferError } from '../webrtc/offer.js';

/**
 * The messages between the HTTP front (main thread) and a media worker (worker_threads). The
 * front parses, authenticates and rate-limits requests; the worker owns sessions, peers, sockets
 * and the frame clock. Every request carries a number and gets one reply with that number; the
 * worker also sends events (session counts, switches, load, log lines) on its own.
 */

/** What a worker needs to start: its index (it starts every session id) and its settings. */
export type WorkerSettings = {
  index: number;
  /** The node id every session id of this worker starts with. */
  node: string;
  ice: IceOptions;
  fps: number;
  switchWaitFrames: number;
  sendSlices: number;
  handshakeTimeoutMs: number;
  receiverSilenceTimeoutMs: number;
  logLevel: string;
  /** The worker's young-generation size in MB (`resourceLimits`); 0: V8's default. */
  youngGenerationMb: number;
  /** Send a `slice` event after every send slice (the capacity benchmark's late-frame count). */
  reportSlices?: boolean;
  /** Each session's voice (config `audio`; the threshold already as a 16-bit level). */
  voice: VoiceSettings & { stallMs: number; maxUtteranceSeconds: number };
};

/** A session as `GET /whep/sessions/:id` shows it. */
export type SessionView = {
  id: string;
  avatar: string;
  speaking: boolean;
  cursor: Cursor;
  stats: SessionStats;
  createdAt: number;
  /** The session's voice; null without an audio track. */
  audio: VoiceState | null;
};

/** What the front may know of a session before acting on it (http/sessionAccess.ts). */
export type Access = { found: false } | { found: true; allowed: boolean; etag: string };

/** One worker's counters, for /status and /metrics. */
export type WorkerSnapshot = {
  index: number;
  sessions: SessionView[];
  created: number;
  totals: SessionStats;
  lateFrames: number;
  lateTicks: number;
  ticks: number;
  skippedTicks: number;
  switchWaitFrames: number;
  /** Event-loop delay of the worker since it started or `resetLoopStats` (perf_hooks), ms. */
  loopDelayMs: { mean: number; p50: number; p99: number; max: number };
  /** Garbage-collection pauses of the worker since it started or `resetLoopStats`. */
  gc: { count: number; totalMs: number; maxMs: number; over10ms: number };
  heapUsedBytes: number;
  /** UDP sockets open in the worker (one ICE port per peer): a leak shows here. */
  udpSockets: number;
};

/** A worker's memory: its own V8 heap and off-heap buffers, and the process RSS (shared by all). */
export type WorkerMemory = {
  /** False when `gc` was asked but the process was not started with `--expose-gc`. */
  collected: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Pages of the worker's V8 heap that are in memory (used or not). */
  heapPhysical: number;
};

/** A created session: its id (naming the worker), its secrets, and the SDP to send back. */
export type Created = {
  id: string;
  sdp: string;
  etag: string;
  answerKey: string | undefined;
  sessionToken: string | undefined;
};

/** Each request: its arguments and what its reply carries. */
export type Ops = {
  /** WHEP: answer the viewer's offer with a new session on `avatar` (sent before, see `avatar`). */
  answer: { args: { avatar: string; offer: string; ownerToken?: string }; result: Created };
  /** `/streams`: a new session and our offer (with an Opus track when `audio`). */
  offer: { args: { avatar: string; ownerToken?: string; audio?: boolean }; result: Created };
  access: { args: { session: string; token?: string }; result: Access };
  answerKeyMatches: { args: { session: string; key: string }; result: boolean };
  acceptAnswer: { args: { session: string; sdp: string }; result: null };
  addCandidates: {
    args: { session: string; ufrag: string | undefined; candidates: RemoteCandidate[] };
    result: null;
  };
  /** `receivedAt`: when the request reached the front, ms since the epoch (threads differ in origin). */
  speaking: {
    args: { session: string; speaking: boolean; receivedAt: number };
    result: SpeakingChange;
  };
  get: { args: { session: string }; result: SessionView | null };
  /** Ends the session; replies with its final counters. */
  delete: { args: { session: string; reason: string }; result: SessionStats };
  /**
   * Queues a new utterance of mono PCM at `rate` on the session's voice; its samples follow as
   * `audioChunk` messages (no reply), then `audioEnd`.
   */
  audioOpen: {
    args: { session: string; rate: PcmRate; streaming: boolean };
    result: { id: string; queued: number };
  };
  /** The utterance's last sample was sent (or, with `cancel`, it is dropped: its upload failed). */
  audioEnd: {
    args: { session: string; utterance: string; cancel?: boolean };
    result: { durationMs: number };
  };
  /** Stops the voice now and drops its queue; the face returns to idle. */
  audioInterrupt: { args: { session: string }; result: { id: string | null; dropped: number } };
  snapshot: { args: Record<string, never>; result: Omit<WorkerSnapshot, 'index'> };
  closeAll: { args: { reason: string }; result: null };
  /** Starts a new measuring window for the loop-delay and GC figures (benchmarks). */
  resetLoopStats: { args: Record<string, never>; result: null };
  /** The worker's own memory (benchmarks); `gc`: after a full GC, if the process exposes one. */
  memory: { args: { gc: boolean }; result: WorkerMemory };
};
export type Op = keyof Ops;

export type FrontMessage =
  | { type: 'request'; id: number; op: Op; args: unknown }
  /** A compiled avatar, its payloads in shared memory: sent to a worker before its first session. */
  | { type: 'avatar'; avatar: SharedAvatar }
  /**
   * The worker has no session left on this avatar: drop it (sessions keep their own reference),
   * so an avatar the catalog evicts is not kept alive by a worker. Sent again before the next one.
   */
  | { type: 'forget'; avatar: string }
  /** Samples of an open utterance (`audioOpen`), in order; their buffer is transferred. */
  | { type: 'audioChunk'; session: string; utterance: string; samples: Int16Array };

export type WorkerMessage =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: WireError }
  /**
   * After every session added or ended: the front places new sessions by these counts; `avatars`
   * counts the open sessions of each avatar (what the on-demand compile bounds must not evict).
   */
  | { type: 'sessions'; active: number; created: number; avatars: Record<string, number> }
  | { type: 'switched'; loop: LoopName; latencyMs: number; audio: boolean }
  /** A speech event of a session's voice (metrics); `playedSeconds` with `end` and `interrupted`. */
  | { type: 'speech'; event: SpeechEventName; playedSeconds: number }
  /** With `reportSlices`: one slice of a tick was sent (times on the worker's clock). */
  | { type: 'slices'; reports: SliceReport[] }
  /** Once a second: what the bitrate meter samples. */
  | { type: 'load'; bytesSent: number }
  /** A log line of the worker's pino logger, re-logged by the front's logger. */
  | { type: 'log'; line: string };

/** An error as it crosses the thread boundary, so the front answers with the same problem. */
export type WireError =
  | { kind: 'avatar'; code: ErrorCode; message: string; extra: AvatarServerError['extra'] }
  | { kind: 'offer'; offerKind: OfferError['kind']; message: string }
  | { kind: 'other'; message: string };

export function toWire(err: unknown): WireError {
  if (err instanceof AvatarServerError) {
    return { kind: 'avatar', code: err.code, message: err.message, extra: err.extra };
  }
  if (err instanceof OfferError)
    return { kind: 'offer', offerKind: err.kind, message: err.message };
  return { kind: 'other', message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(err: WireError): Error {
  if (err.kind === 'avatar') return new AvatarServerError(err.code, err.message, err.extra);
  if (err.kind === 'offer') return new OfferError(err.offerKind, err.message);
  return new Error(err.message);
}

/**
 * A session id is `<node id>.w<worker index>-` and 128 random bits (22 base64url characters): any
 * node of a cluster reads the owning node from the id (and forwards the request there, see
 * cluster/forwardSessions.ts), and that node's front reads the worker, so no table maps sessions
 * to nodes or workers (and none can be lost). The prefix adds to the id; the unguessable part is
 * the same 128 bits as before. A node id is a DNS label, so `.` cannot occur in it.
 */
export const sessionIdPrefix = (node: string, index: number) => `${node}.w${index}-`;

/** The node and worker an id names, or undefined for an id no node could have made. */
export function parseSessionId(id: string): { node: string; worker: number } | undefined {
  const m = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.w(\d{1,4})-[A-Za-z0-9_-]{22}$/.exec(id);
  return m ? { node: m[1]!, worker: Number(m[2]) } : undefined;
}
