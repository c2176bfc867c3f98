import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { warmUpOpus } from '../audio/opusEncoder.js';
import { AvatarServerError } from '../lib/errors.js';
import { createLogger, setMediaLogger } from '../lib/logger.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { fromShared } from '../rtp/sharedAvatar.js';
import { FrameClock } from '../session/frameClock.js';
import type { Session } from '../session/Session.js';
import { interrupt, type OwnedSession, SessionFactory } from '../session/SessionFactory.js';
import { SessionRegistry, type SliceReport } from '../session/SessionRegistry.js';
import { weriftPeers } from '../webrtc/weriftPeers.js';
import {
  type Created,
  type FrontMessage,
  type Op,
  type Ops,
  sessionIdPrefix,
  toWire,
  type WorkerMessage,
  type WorkerSettings,
} from './protocol.js';

/**
 * A media worker (worker_threads): its own event loop, garbage collector, frame clock, sessions,
 * werift peers and UDP sockets. It answers the front's requests (workers/protocol.ts) and never
 * sees HTTP; the front has already checked who asks.
 */
const settings = workerData as WorkerSettings;
const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);

// Lines go to the front, which logs them with its own logger (one log, one format).
const logger = createLogger(settings.logLevel, 'json', {
  write: (line: string) => post({ type: 'log', line }),
}).child({ worker: settings.index });
setMediaLogger(logger);

// Before any session: the Opus encoder's WebAssembly compiles here, not on a first utterance.
warmUpOpus();

const clock = new FrameClock(settings.fps);
const registry = new SessionRegistry(
  clock,
  (err, session) =>
    logger.error({ err, session: session.id }, 'session failed on a frame tick; ending it'),
  {
    switchWaitFrames: settings.switchWaitFrames,
    sendSlices: settings.sendSlices,
    idPrefix: sessionIdPrefix(settings.node, settings.index),
  },
);
const sessions = new SessionFactory({
  registry,
  peers: weriftPeers(settings.ice),
  timeouts: {
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
    receiverSilenceTimeoutMs: settings.receiverSilenceTimeoutMs,
  },
  logger,
  voice: settings.voice,
  onSpeech: (event, playedSeconds) => post({ type: 'speech', event: event.event, playedSeconds }),
});
/** Open sessions per avatar id. */
const perAvatar: Record<string, number> = {};
const counts = () =>
  post({ type: 'sessions', active: registry.size, created: registry.created, avatars: perAvatar });
registry.observe({
  added(session) {
    perAvatar[session.avatarId] = (perAvatar[session.avatarId] ?? 0) + 1;
    counts();
  },
  closed(session) {
    const left = (perAvatar[session.avatarId] ?? 1) - 1;
    if (left > 0) perAvatar[session.avatarId] = left;
    else delete perAvatar[session.avatarId];
    counts();
  },
  switched: (_session, change) =>
    post({
      type: 'switched',
      loop: change.loop,
      latencyMs: change.latencyMs,
      audio: change.audio === true,
    }),
});
if (settings.reportSlices) {
  // Batched every 250 ms: a message per slice (100 a second at 25 fps) cost the worker 7 % of its
  // time at 200 sessions (a CPU profile of the capacity benchmark), which the benchmark then
  // counted as the server's. The benchmark's windows shift by up to 250 ms, their length not.
  let reports: SliceReport[] = [];
  registry.observe({ sliceSent: (report) => reports.push(report) });
  setInterval(() => {
    if (reports.length === 0) return;
    post({ type: 'slices', reports });
    reports = [];
  }, 250).unref();
}
setInterval(() => post({ type: 'load', bytesSent: registry.totals().bytesSent }), 1000);

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let gc = { count: 0, totalMs: 0, maxMs: 0, over10ms: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
    if (entry.duration > 10) gc.over10ms++;
  }
}).observe({ entryTypes: ['gc'] });

const avatars = new Map<string, PacketizedAvatar>();

function avatar(id: string): PacketizedAvatar {
  const found = avatars.get(id);
  if (!found)
    throw new AvatarServerError('internal', `avatar '${id}' was not handed to this worker`);
  return found;
}

function owned(id: string): OwnedSession {
  const found = sessions.get(id);
  if (!found) throw AvatarServerError.sessionNotFound(id);
  return found;
}

const owner = (token: string | undefined) => (token === undefined ? undefined : { token });

const created = (o: OwnedSession, sdp: string): Created => ({
  id: o.id,
  sdp,
  etag: o.etag,
  answerKey: o.answerKey,
  sessionToken: o.sessionToken,
});

/** A session as the front sees it (GET on the session, /status): plain data, copied. */
const describeSession = (s: Session) => ({
  id: s.id,
  avatar: s.avatarId,
  speaking: s.speaking,
  cursor: { ...s.cursor },
  stats: { ...s.stats },
  createdAt: s.createdAt,
  audio: sessions.get(s.id)?.voice?.state ?? null,
});

const ms = (ns: number) => Math.round(ns / 1e4) / 100;

type Handlers = {
  [K in Op]: (args: Ops[K]['args']) => Ops[K]['result'] | Promise<Ops[K]['result']>;
};
const handlers: Handlers = {
  async answer({ avatar: id, offer, ownerToken }) {
    const { owned: o, answer } = await sessions.answer(avatar(id), offer, owner(ownerToken));
    return created(o, answer);
  },
  async offer({ avatar: id, ownerToken, audio }) {
    const { owned: o, offer } = await sessions.offer(avatar(id), owner(ownerToken), {
      audio: audio === true,
    });
    return created(o, offer);
  },
  access({ session, token }) {
    const o = sessions.get(session);
    return o ? { found: true, allowed: o.ownedBy(token), etag: o.etag } : { found: false };
  },
  answerKeyMatches: ({ session, key }) => owned(session).answerKeyMatches(key),
  async acceptAnswer({ session, sdp }) {
    await owned(session).acceptAnswer(sdp);
    return null;
  },
  async addCandidates({ session, ufrag, candidates }) {
    await owned(session).addCandidates({ ufrag, candidates });
    return null;
  },
  speaking: ({ session, speaking, receivedAt }) =>
    // The front's arrival time, on this thread's performance clock.
    owned(session).session.setSpeaking(speaking, receivedAt - performance.timeOrigin),
  get({ session }) {
    const s = sessions.get(session)?.session;
    return s ? describeSession(s) : null;
  },
  delete({ session, reason }) {
    const s = owned(session).session;
    s.close(reason);
    return { ...s.stats };
  },
  audioOpen: ({ session, rate, streaming }) =>
    owned(session).requireVoice().open(rate, { streaming }),
  audioEnd({ session, utterance, cancel }) {
    const voice = owned(session).requireVoice();
    if (cancel) {
      voice.cancel(utterance);
      return { durationMs: 0 };
    }
    const ended = voice.end(utterance);
    if (ended?.overflowed) {
      throw new AvatarServerError(
        'payload_too_large',
        `the session holds ${settings.voice.maxBufferedSeconds} s of audio not yet played (setting audio.maxUtteranceSeconds): the utterance was dropped; wait for the queue to play, or interrupt`,
      );
    }
    if (!ended) {
      throw new AvatarServerError(
        'session_state',
        'the utterance is no longer queued (the voice was interrupted)',
      );
    }
    return ended;
  },
  audioInterrupt: ({ session }) => interrupt(owned(session)),
  snapshot: () => ({
    sessions: registry.list().map(describeSession),
    created: registry.created,
    totals: registry.totals(),
    lateFrames: registry.lateFrames,
    lateTicks: registry.lateTicks,
    ticks: registry.ticks,
    skippedTicks: clock.skippedTicks,
    switchWaitFrames: registry.switchWaitFrames,
    loopDelayMs: {
      mean: ms(loopDelay.mean || 0),
      p50: ms(loopDelay.percentile(50) || 0),
      p99: ms(loopDelay.percentile(99) || 0),
      max: ms(loopDelay.max || 0),
    },
    gc: {
      count: gc.count,
      totalMs: Math.round(gc.totalMs * 100) / 100,
      maxMs: Math.round(gc.maxMs * 100) / 100,
      over10ms: gc.over10ms,
    },
    heapUsedBytes: process.memoryUsage().heapUsed,
    udpSockets: process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length,
  }),
  resetLoopStats() {
    loopDelay.reset();
    gc = { count: 0, totalMs: 0, maxMs: 0, over10ms: 0 };
    return null;
  },
  memory({ gc: collect }) {
    const gc = (globalThis as { gc?: () => void }).gc;
    // Twice: the first pass may free objects whose finalizers free more.
    if (collect && gc) for (let i = 0; i < 2; i++) gc();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const heapPhysical = getHeapStatistics().total_physical_size;
    const collected = collect && gc !== undefined;
    return { collected, rss, heapUsed, heapTotal, external, arrayBuffers, heapPhysical };
  },
  async closeAll({ reason }) {
    registry.closeAll(reason);
    clock.stop();
    // The front terminates this thread next: only once every socket is closed.
    await sessions.peersClosed();
    return null;
  },
};

port.on('message', (message: FrontMessage) => {
  if (message.type === 'avatar') {
    avatars.set(message.avatar.id, fromShared(message.avatar));
    return;
  }
  if (message.type === 'forget') {
    avatars.delete(message.avatar);
    return;
  }
  if (message.type === 'audioChunk') {
    // A session that ended meanwhile: the samples are dropped (audioEnd answers 404).
    sessions.get(message.session)?.voice?.push(message.utterance, message.samples);
    return;
  }
  const { id, op, args } = message;
  const handler = handlers[op] as (args: unknown) => unknown;
  Promise.resolve()
    .then(() => handler(args))
    .then(
      (value) => post({ type: 'reply', id, ok: true, value: value ?? null }),
      (err: unknown) => post({ type: 'reply', id, ok: false, error: toWire(err) }),
    );
});
