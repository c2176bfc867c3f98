import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SpeechEventName } from '../audio/Voice.js';
import { AvatarServerError } from '../lib/errors.js';
import type { LoopName } from '../media/compiledAvatar.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { shareAvatar } from '../rtp/sharedAvatar.js';
import type { SliceReport } from '../session/SessionRegistry.js';
import {
  type Created,
  type FrontMessage,
  fromWire,
  type Op,
  type Ops,
  parseSessionId,
  type WorkerMessage,
  type WorkerSettings,
  type WorkerSnapshot,
} from './protocol.js';

/** Longest wait for a worker's reply (an answer includes ICE setup; normally milliseconds). */
const CALL_TIMEOUT_MS = 15_000;

/** A worker's life: its thread, its pending requests, and what the front knows of it. */
type Slot = {
  index: number;
  worker: Worker;
  pending: Map<number, { ok: (value: unknown) => void; fail: (err: Error) => void }>;
  /** Avatars handed to this thread, by id (a restarted worker starts empty). */
  avatars: Map<string, PacketizedAvatar>;
  /** Open sessions per avatar id on this worker, as it last reported. */
  inUse: Record<string, number>;
  active: number;
  /** Sessions being created on it now: counted when placing the next one. */
  starting: number;
  created: number;
  bytesSent: number;
  restarts: number;
  startedAt: number;
  /** Stopped, and its replacement not started yet (a worker that keeps dying at start waits). */
  down: boolean;
};

export type PoolEvents = {
  switched: [change: { loop: LoopName; latencyMs: number; audio: boolean }];
  speech: [event: SpeechEventName, playedSeconds: number];
  /** Only with `reportSlices` (benchmarks): a worker sent one slice of a tick. */
  slice: [report: SliceReport, worker: number];
};

/** One worker's view in /status and /metrics: its snapshot, or why there is none. */
export type WorkerReport = WorkerSnapshot & { restarts: number };

/**
 * The front's side of the media workers: starts one thread per worker, places each new session
 * on the worker with the fewest, and sends every later request to the worker its session id
 * names (protocol.ts, `parseSessionId`). A worker that dies ends only its own sessions: its
 * pending requests fail, and a new worker takes its place (and its index).
 */
export class MediaPool extends EventEmitter<PoolEvents> {
  #slots: Slot[] = [];
  #settings: Omit<WorkerSettings, 'index' | 'ice'>;
  /** This node's id: sessions of other nodes are not here (cluster/ forwards them before). */
  readonly node: string;
  #ice: (index: number) => WorkerSettings['ice'];
  #logger: Logger;
  #nextId = 1;
  #closing = false;
  /** Sessions created and bytes sent by workers that have since died. */
  #gone = { created: 0, bytesSent: 0 };

  constructor(options: {
    count: number;
    settings: Omit<WorkerSettings, 'index' | 'ice'>;
    /** Each worker's ICE settings (its share of `ice.portRange`). */
    ice: (index: number) => WorkerSettings['ice'];
    logger: Logger;
  }) {
    super();
    this.#settings = options.settings;
    this.node = options.settings.node;
    this.#ice = options.ice;
    this.#logger = options.logger;
    for (let i = 0; i < options.count; i++) this.#slots.push(this.#start(i, 0));
  }

  get count() {
    return this.#slots.length;
  }

  /** Sessions open now, over every worker (kept from the workers' own counts, no round trip). */
  get size() {
    return this.#slots.reduce((n, s) => n + s.active, 0);
  }

  /** The avatar of every open session (ids, each once): what must stay compiled. */
  avatarsInUse(): string[] {
    return [...new Set(this.#slots.flatMap((s) => Object.keys(s.inUse)))];
  }

  /** Sessions opened since the start, over every worker, live or dead. */
  get created() {
    return this.#gone.created + this.#slots.reduce((n, s) => n + s.created, 0);
  }

  /** Payload bytes sent since the start (as of each worker's last report, once a second). */
  get bytesSent() {
    return this.#gone.bytesSent + this.#slots.reduce((n, s) => n + s.bytesSent, 0);
  }

  #start(index: number, restarts: number): Slot {
    const worker = spawnWorker({ ...this.#settings, index, ice: this.#ice(index) });
    // The HTTP server keeps the process alive; a worker alone does not (an embedder may exit).
    worker.unref();
    const slot: Slot = {
      index,
      worker,
      pending: new Map(),
      avatars: new Map(),
      inUse: {},
      active: 0,
      starting: 0,
      created: 0,
      bytesSent: 0,
      restarts,
      startedAt: performance.now(),
      down: false,
    };
    worker.on('message', (message: WorkerMessage) => this.#receive(slot, message));
    worker.on('error', (err) => this.#logger.error({ err, worker: index }, 'media worker failed'));
    worker.on('exit', (code) => this.#exited(slot, code));
    return slot;
  }

  #receive(slot: Slot, message: WorkerMessage) {
    switch (message.type) {
      case 'reply': {
        const call = slot.pending.get(message.id);
        slot.pending.delete(message.id);
        if (message.ok) call?.ok(message.value);
        else call?.fail(fromWire(message.error));
        return;
      }
      case 'sessions':
        slot.active = message.active;
        slot.created = message.created;
        slot.inUse = message.avatars;
        // An avatar without sessions is dropped by the worker; the next session sends it again.
        for (const id of slot.avatars.keys()) {
          if (slot.inUse[id]) continue;
          slot.avatars.delete(id);
          this.#post(slot, { type: 'forget', avatar: id });
        }
        return;
      case 'load':
        slot.bytesSent = message.bytesSent;
        return;
      case 'switched':
        this.emit('switched', message);
        return;
      case 'speech':
        this.emit('speech', message.event, message.playedSeconds);
        return;
      case 'slices':
        for (const report of message.reports) this.emit('slice', report, slot.index);
        return;
      case 'log':
        relog(this.#logger, message.line);
        return;
    }
  }

  #exited(slot: Slot, code: number) {
    const lost = workerDown();
    for (const call of slot.pending.values()) call.fail(lost);
    slot.pending.clear();
    this.#gone.created += slot.created;
    this.#gone.bytesSent += slot.bytesSent;
    const sessionsLost = slot.active;
    slot.down = true;
    slot.active = 0;
    if (this.#closing) return;
    // A worker that dies right after its start would die again at once: wait, longer each time.
    const early = performance.now() - slot.startedAt < 5000;
    const waitMs = early ? Math.min(30_000, 250 * 2 ** Math.min(slot.restarts, 7)) : 0;
    this.#logger.error(
      { worker: slot.index, code, sessionsLost, restartInMs: waitMs },
      'media worker stopped: its sessions ended; starting a new one',
    );
    const restart = setTimeout(() => {
      if (!this.#closing) this.#slots[slot.index] = this.#start(slot.index, slot.restarts + 1);
    }, waitMs);
    restart.unref();
  }

  #post(slot: Slot, message: FrontMessage) {
    slot.worker.postMessage(message);
  }

  #call<K extends Op>(slot: Slot, op: K, args: Ops[K]['args']): Promise<Ops[K]['result']> {
    const id = this.#nextId++;
    if (slot.down) return Promise.reject(workerDown());
    return new Promise((ok, fail) => {
      // A worker stuck in a loop must not hold HTTP requests forever.
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        fail(
          new AvatarServerError(
            'server_busy',
            `the media worker did not answer within ${CALL_TIMEOUT_MS / 1000} s; retry shortly`,
            { retryAfterSeconds: 5 },
          ),
        );
      }, CALL_TIMEOUT_MS);
      timer.unref();
      const settle =
        <T>(then: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          then(value);
        };
      slot.pending.set(id, { ok: settle(ok as (value: unknown) => void), fail: settle(fail) });
      this.#post(slot, { type: 'request', id, op, args });
    });
  }

  /** The worker a session id names, or a 404 for an id no worker made. */
  #slotOf(session: string): Slot {
    const at = parseSessionId(session);
    const slot = at?.node === this.node ? this.#slots[at.worker] : undefined;
    if (!slot) throw AvatarServerError.sessionNotFound(session);
    return slot;
  }

  /** The running worker with the fewest sessions (counting those being created). */
  #leastLoaded(): Slot {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.down) continue;
      if (!best || slot.active + slot.starting < best.active + best.starting) best = slot;
    }
    if (!best) {
      throw new AvatarServerError(
        'server_busy',
        'no media worker is running (they are being restarted); retry shortly',
        { retryAfterSeconds: 5 },
      );
    }
    return best;
  }

  /** Creates a session for `avatar` on the least loaded worker (`answer`: WHEP, `offer`: /streams). */
  async create(
    avatar: PacketizedAvatar,
    request: { offer: string } | undefined,
    ownerToken: string | undefined,
    options: { audio?: boolean } = {},
  ): Promise<Created> {
    const slot = this.#leastLoaded();
    if (slot.avatars.get(avatar.id) !== avatar) {
      // Only the index is copied; the payloads stay in the one SharedArrayBuffer.
      const shared = avatar.shared ?? shareAvatar(avatar).shared;
      this.#post(slot, { type: 'avatar', avatar: shared });
      slot.avatars.set(avatar.id, avatar);
    }
    const token = ownerToken === undefined ? {} : { ownerToken };
    slot.starting++;
    try {
      return request
        ? await this.#call(slot, 'answer', { avatar: avatar.id, offer: request.offer, ...token })
        : await this.#call(slot, 'offer', {
            avatar: avatar.id,
            ...token,
            ...(options.audio ? { audio: true } : {}),
          });
    } finally {
      slot.starting--;
      // The reply came after the worker's count: keep the count it sent.
    }
  }

  /**
   * Samples of an open utterance, to the worker holding the session (no reply; in order with the
   * requests). The samples' buffer is transferred, not copied.
   */
  audioChunk(session: string, utterance: string, samples: Int16Array) {
    // Called from ffmpeg's output and request bodies: it never throws (a lost session answers
    // 404 at audioEnd).
    const at = parseSessionId(session);
    const slot = at?.node === this.node ? this.#slots[at.worker] : undefined;
    if (!slot || slot.down) return;
    const message: FrontMessage = { type: 'audioChunk', session, utterance, samples };
    slot.worker.postMessage(message, [samples.buffer as ArrayBuffer]);
  }

  /** A request about one session, sent to the worker its id names. */
  session<
    K extends Exclude<
      Op,
      'answer' | 'offer' | 'snapshot' | 'closeAll' | 'resetLoopStats' | 'memory'
    >,
  >(op: K, args: Ops[K]['args']): Promise<Ops[K]['result']> {
    return this.#call(this.#slotOf(args.session), op, args);
  }

  /** Every worker's counters, in index order. A worker that does not answer in time is left out. */
  async snapshot(): Promise<WorkerReport[]> {
    const reports = await Promise.all(
      this.#slots.map(async (slot) => {
        const snap = await withTimeout(this.#call(slot, 'snapshot', {}), 2000).catch(() => null);
        return snap && { ...snap, index: slot.index, restarts: slot.restarts };
      }),
    );
    return reports.filter((r): r is WorkerReport => r !== null);
  }

  /** A new measuring window for every worker's loop-delay and GC figures (benchmarks). */
  async resetLoopStats(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#call(slot, 'resetLoopStats', {})));
  }

  /** Worker `index`'s memory (benchmarks); `gc`: after a full GC (needs `--expose-gc`). */
  memory(index: number, gc: boolean): Promise<Ops['memory']['result']> {
    const slot = this.#slots[index];
    if (!slot) throw new RangeError(`no media worker ${index} (there are ${this.count})`);
    return this.#call(slot, 'memory', { gc });
  }

  /**
   * The thread of worker `index`, for tests and operators that need to stop one (a crash test):
   * the pool restarts it like a worker that crashed.
   */
  thread(index: number): Worker {
    const slot = this.#slots[index];
    if (!slot) throw new RangeError(`no media worker ${index} (there are ${this.count})`);
    return slot.worker;
  }

  /** Ends every session (their peers close, viewers see the end), then stops the workers. */
  async close(reason: string): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map((slot) =>
        withTimeout(this.#call(slot, 'closeAll', { reason }), 5000).catch(() => null),
      ),
    );
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }
}

function workerDown() {
  return new AvatarServerError(
    'internal',
    'the media worker holding this session stopped; its viewers reconnect with a new session',
  );
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_ok, fail) => {
    timer = setTimeout(() => fail(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A worker's pino line, logged again through the front's logger at the same level. */
function relog(logger: Logger, line: string) {
  try {
    const { level, time: _time, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const label = logger.levels.labels[Number(level)] ?? 'info';
    const log = (logger as unknown as Record<string, (o: object, m?: string) => void>)[label];
    log?.call(logger, fields, typeof msg === 'string' ? msg : undefined);
  } catch {
    logger.info({ line }, 'media worker log line');
  }
}

/**
 * The worker thread: the compiled entry next to this file, or (tests and `tsx`, running the
 * TypeScript sources) the .ts entry through tsx's loader.
 */
function spawnWorker(settings: WorkerSettings): Worker {
  const entry = new URL(
    import.meta.url.endsWith('.ts') ? './mediaWorker.ts' : './mediaWorker.js',
    import.meta.url,
  );
  const options = {
    workerData: settings,
    ...(settings.youngGenerationMb > 0
      ? { resourceLimits: { maxYoungGenerationSizeMb: settings.youngGenerationMb } }
      : {}),
  };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const boot = `
    const { createRequire } = require('node:module');
    const { pathToFileURL } = require('node:url');
    const api = createRequire(${JSON.stringify(entry.href)}).resolve('tsx/esm/api');
    import(pathToFileURL(api.replace(/\\.cjs$/, '.mjs')).href)
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });
  `;
  return new Worker(boot, { ...options, eval: true });
}
