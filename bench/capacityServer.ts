/**
 * The server side of `bench/capacity.ts`, run in its own process (pinned by the parent with
 * `taskset`). Mode `avatar`: the real server (startServer, default avatar from the cache).
 * Mode `baseline`: what a per-session-encoding server does — a minimal WHEP endpoint whose every
 * session runs its own live ffmpeg libx264 encode (same size, fps, bitrate), packetized and sent
 * through the same AvatarPeer (werift) path. Figures go to the parent over IPC:
 * process.cpuUsage (plus the ffmpeg children's CPU from /proc), event-loop delay and GC (in avatar
 * mode the media worker's, which sends the frames), RSS, and in avatar mode the frames sent more
 * than 10 ms after they were due (the tick's due time plus the
 * offset of the session's send slice, see SessionRegistry.ts).
 *
 * Avatar mode with several media workers: every figure is also given per worker (its sessions,
 * late frames from its own slices, loop delay, GC, heap); the top-level loop delay and GC are the
 * worst worker's (GC counts and totals are summed). Memory: the process RSS (every thread), the
 * front's V8 heap and each worker's.
 *
 *   capacityServer.ts <avatar|baseline> <raw file> [JSON {workers, config}]
 *
 * `config` is merged over the bench's settings (after any AVATAR_* variables, which are read as
 * the server's own CLI reads them), so a run can set any server setting without editing code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import pino from 'pino';
import { configFromEnv, parseConfig } from '../packages/server/src/config/load.js';
import { parseAnnexB } from '../packages/server/src/media/annexB.js';
import { packetizeAccessUnit } from '../packages/server/src/rtp/h264Packetizer.js';
import { startServer } from '../packages/server/src/server.js';
import { AvatarPeer } from '../packages/server/src/webrtc/AvatarPeer.js';

type Command = { cmd: 'reset' } | { cmd: 'stats' } | { cmd: 'exit' };

const mode = process.argv[2] === 'baseline' ? 'baseline' : 'avatar';
const rawFile = process.argv[3] ?? '';
const overrides = JSON.parse(process.argv[4] ?? '{}') as {
  workers?: number | 'auto';
  config?: Record<string, unknown>;
};
const SIZE = 512;
const FPS = 25;
const BITRATE_KBPS = 1500;
const LATE_MS = 10;

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
/** GC pauses in the window (perf_hooks 'gc' entries): how much of the loop's stalls are GC. */
let gc = { count: 0, totalMs: 0, maxMs: 0, over10ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.totalMs += e.duration;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
    if (e.duration > 10) gc.over10ms++;
  }
}).observe({ entryTypes: ['gc'] });
const children = new Set<ChildProcess>();
let window = { cpu: process.cpuUsage(), at: performance.now(), childCpuMs: childCpuMs() };
type Late = {
  frames: number;
  lateFrames: number;
  ticks: number;
  lateSlices: number;
  maxTickMs: number;
};
const noLate = (): Late => ({ frames: 0, lateFrames: 0, ticks: 0, lateSlices: 0, maxTickMs: 0 });
/** Frames due and late in the window: over every worker, and per worker index. */
let late = noLate();
let lateByWorker = new Map<number, Late>();

/** CPU time of the live ffmpeg children (utime + stime from /proc, in ms). */
function childCpuMs(): number {
  let total = 0;
  for (const child of children) {
    try {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      // exited
    }
  }
  return total;
}

let sessions = () => 0;
/** Avatar mode: the media workers' own loop delay, GC and heap in the window (they send the frames). */
let workerLoop: () => Promise<Record<string, unknown> | undefined> = async () => undefined;
let resetWorkerLoop = async () => {};

async function stats() {
  const elapsedMs = performance.now() - window.at;
  const cpu = process.cpuUsage(window.cpu);
  const serverCpuMs = (cpu.user + cpu.system) / 1000;
  const ffmpegCpuMs = childCpuMs() - window.childCpuMs;
  const memory = process.memoryUsage();
  return {
    mode,
    sessions: sessions(),
    elapsedMs: Math.round(elapsedMs),
    /** Share of one core used by the server process (1 = a whole core). */
    serverCpu: +(serverCpuMs / elapsedMs).toFixed(4),
    /** Share of one core used by the per-session ffmpeg encoders (baseline only). */
    encoderCpu: +(ffmpegCpuMs / elapsedMs).toFixed(4),
    eventLoopDelayMs: {
      p50: +(eld.percentile(50) / 1e6).toFixed(2),
      p99: +(eld.percentile(99) / 1e6).toFixed(2),
      max: +(eld.max / 1e6).toFixed(2),
    },
    gc: {
      count: gc.count,
      totalMs: +gc.totalMs.toFixed(1),
      maxMs: +gc.maxMs.toFixed(2),
      over10ms: gc.over10ms,
    },
    /** The whole process: the front and every worker thread. */
    rssMB: +(memory.rss / 1e6).toFixed(1),
    /** The main thread's V8 heap (in avatar mode: the HTTP front). */
    heapUsedMB: +(memory.heapUsed / 1e6).toFixed(1),
    // Avatar mode: the loop and GC figures above are the front's; these replace them with the
    // workers' (and add the per-worker results).
    ...(await workerLoop()),
    ...(mode === 'avatar' ? lateFigures(late) : {}),
  };
}

function lateFigures(l: Late) {
  return {
    framesDue: Math.round(l.frames),
    framesLate10ms: Math.round(l.lateFrames),
    lateFraction: l.frames ? +(l.lateFrames / l.frames).toFixed(5) : 0,
    ticks: l.ticks,
    slicesWithLateFrames: l.lateSlices,
    /** Latest end of a slice after its scheduled time. */
    maxSliceEndLateMs: +l.maxTickMs.toFixed(2),
  };
}

async function reset() {
  await resetWorkerLoop();
  eld.reset();
  gc = { count: 0, totalMs: 0, maxMs: 0, over10ms: 0 };
  window = { cpu: process.cpuUsage(), at: performance.now(), childCpuMs: childCpuMs() };
  late = noLate();
  lateByWorker = new Map();
}

/** Deep merge of plain objects (config layers): later layers win, lists are replaced. */
function merge(...layers: Array<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const before = out[key];
      const plain = (v: unknown): v is Record<string, unknown> =>
        typeof v === 'object' && v !== null && !Array.isArray(v);
      out[key] = plain(before) && plain(value) ? merge(before, value) : value;
    }
  }
  return out;
}

async function startAvatar() {
  const bench = {
    port: 0,
    host: '127.0.0.1',
    videosDir: 'videos',
    encoder: 'x264',
    logLevel: 'silent',
    maxSessions: 100_000,
    // The load generator opens every session from 127.0.0.1: no per-IP rate limits.
    sessionRateLimit: { perMinute: 0, burst: 1 },
    sessionRequestRateLimit: { perMinute: 0, burst: 1 },
    ...(process.env.SEND_SLICES ? { sendSlices: Number(process.env.SEND_SLICES) } : {}),
    // One media worker by default: the per-core figure (the process is pinned to one core).
    workers: overrides.workers ?? 1,
  };
  const chosen = merge(configFromEnv(process.env), overrides.config ?? {});
  const config = parseConfig(merge(bench, chosen), 'capacity server settings');
  // What the run set beyond the bench's defaults, as the server parsed it (for the record).
  const applied: Record<string, unknown> = { workers: config.workers };
  const walk = (node: Record<string, unknown>, path: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        walk(value as Record<string, unknown>, [...path, key]);
      } else {
        applied[[...path, key].join('.')] = [...path, key].reduce<unknown>(
          (v, k) => (v as Record<string, unknown> | undefined)?.[k],
          config,
        );
      }
    }
  };
  walk(chosen, []);
  if (process.env.SEND_SLICES) applied.sendSlices = config.sendSlices;
  const server = await startServer(config, {
    logger: pino({ level: 'silent' }),
    reportSlices: true,
  });
  await server.compiled;
  const { media } = server;
  sessions = () => media.size;
  workerLoop = async () => {
    const workers = await media.snapshot();
    if (workers.length === 0) return undefined;
    const worst = (pick: (w: (typeof workers)[number]) => number) => Math.max(...workers.map(pick));
    const sum = (pick: (w: (typeof workers)[number]) => number) =>
      workers.reduce((n, w) => n + pick(w), 0);
    return {
      workerCount: media.count,
      eventLoopDelayMs: {
        p50: worst((w) => w.loopDelayMs.p50),
        p99: worst((w) => w.loopDelayMs.p99),
        max: worst((w) => w.loopDelayMs.max),
      },
      gc: {
        count: sum((w) => w.gc.count),
        totalMs: +sum((w) => w.gc.totalMs).toFixed(1),
        maxMs: worst((w) => w.gc.maxMs),
        over10ms: sum((w) => w.gc.over10ms),
      },
      workerHeapUsedMB: +(sum((w) => w.heapUsedBytes) / 1e6).toFixed(1),
      perWorker: workers.map((w) => ({
        index: w.index,
        sessions: w.sessions.length,
        restarts: w.restarts,
        ...lateFigures(lateByWorker.get(w.index) ?? noLate()),
        eventLoopDelayMs: {
          p50: w.loopDelayMs.p50,
          p99: w.loopDelayMs.p99,
          max: w.loopDelayMs.max,
        },
        gc: w.gc,
        heapUsedMB: +(w.heapUsedBytes / 1e6).toFixed(1),
      })),
    };
  };
  resetWorkerLoop = () => media.resetLoopStats();
  // The registry sends each tick in slices (SessionRegistry.ts); slice j of tick k is scheduled
  // at dueAt(k) + j·period/slices. After each slice it reports when the slice started and ended
  // relative to that time; its sessions are served in order, so frame i of n went out at about
  // start + (end − start)·i/n. Late = frames that left more than 10 ms after their slice's
  // scheduled time (with one slice: after the tick was due, the measure used before slicing).
  // The media workers report each slice (reportSlices), each on its own clock: ticks are
  // counted per worker (the total is the sum), frames and late frames add up.
  const lastTick = new Map<number, number>();
  const count = (l: Late, n: number, startLateMs: number, endLateMs: number, newTick: boolean) => {
    if (newTick) l.ticks++;
    l.frames += n;
    l.maxTickMs = Math.max(l.maxTickMs, endLateMs);
    if (endLateMs <= LATE_MS) return;
    l.lateSlices++;
    l.lateFrames +=
      startLateMs > LATE_MS
        ? n
        : (n * (endLateMs - LATE_MS)) / Math.max(1e-6, endLateMs - startLateMs);
  };
  media.on('slice', ({ tick, sessions: n, startLateMs, endLateMs }, worker) => {
    const newTick = lastTick.get(worker) !== tick;
    lastTick.set(worker, tick);
    const own = lateByWorker.get(worker) ?? noLate();
    lateByWorker.set(worker, own);
    count(late, n, startLateMs, endLateMs, newTick);
    count(own, n, startLateMs, endLateMs, newTick);
  });
  return {
    url: `${server.url}/whep/avatars/default`,
    applied,
    close: () => server.close(),
  };
}

/** One live encode per session, from the same raw frames, into the same werift send path. */
async function startBaseline() {
  const peers = new Set<AvatarPeer>();
  sessions = () => peers.size;
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const peer = await AvatarPeer.answer(Buffer.concat(chunks).toString('utf8'), {
        additionalHostAddresses: ['127.0.0.1'],
        useIpv6: false,
      });
      peers.add(peer);
      let encoder: ChildProcess | undefined;
      peer.onStateChange((state) => {
        if (state === 'connected' && !encoder) {
          encoder = encode(peer);
          children.add(encoder);
        }
        if (state === 'closed' || state === 'failed') {
          peers.delete(peer);
          if (encoder) {
            children.delete(encoder);
            encoder.kill('SIGKILL');
          }
        }
      });
      res.writeHead(201, { 'content-type': 'application/sdp', location: '/session' });
      res.end(peer.answer);
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/whep`,
    close: async () => {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all([...peers].map((p) => p.close()));
      http.close();
    },
  };
}

/** ffmpeg (libx264, realtime-paced) → access units (split at AUDs) → RTP → the peer. */
function encode(peer: AvatarPeer): ChildProcess {
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1'],
    ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${SIZE}x${SIZE}`, '-r', `${FPS}`],
    ...['-i', rawFile, '-an'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline'],
    ...[
      '-b:v',
      `${BITRATE_KBPS}k`,
      '-maxrate',
      `${BITRATE_KBPS}k`,
      '-bufsize',
      `${BITRATE_KBPS / 3}k`,
    ],
    ...['-g', `${FPS}`, '-threads', '1'],
    ...['-x264-params', 'repeat-headers=1:aud=1:scenecut=0:bframes=0:slices=1:sliced-threads=0'],
    ...['-f', 'h264', 'pipe:1'],
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let pending: Buffer = Buffer.alloc(0);
  let sequence = Math.floor(Math.random() * 0x10000);
  let frame = 0;
  const timestampBase = Math.floor(Math.random() * 2 ** 31);
  let parameterSets: { sps: Uint8Array; pps: Uint8Array } | undefined;
  const AUD = Buffer.from([0, 0, 0, 1, 9]);
  const sendAccessUnit = (bytes: Buffer) => {
    const parsed = parseAnnexB(bytes);
    if (parsed.sps[0] && parsed.pps[0]) parameterSets = { sps: parsed.sps[0], pps: parsed.pps[0] };
    const au = parsed.accessUnits[0];
    if (!au || !parameterSets) return;
    const payloads = packetizeAccessUnit(au.slices, au.keyframe, parameterSets, 1200);
    const timestamp = (timestampBase + frame * (90_000 / FPS)) >>> 0;
    frame++;
    if (!peer.ready) return;
    payloads.forEach((payload, i) => {
      peer.send(payload, sequence, timestamp, i === payloads.length - 1);
      sequence = (sequence + 1) & 0xffff;
    });
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    // Every access unit starts with an AUD: the one before the last AUD seen is complete.
    for (;;) {
      const next = pending.indexOf(AUD, 1);
      if (next < 0) break;
      sendAccessUnit(pending.subarray(0, next));
      pending = pending.subarray(next);
    }
  });
  return child;
}

const server = mode === 'avatar' ? await startAvatar() : await startBaseline();
process.send!({
  type: 'ready',
  url: server.url,
  applied: 'applied' in server ? server.applied : {},
});
process.on('message', async (message: Command) => {
  if (message.cmd === 'reset') {
    await reset();
    process.send!({ type: 'reset' });
  } else if (message.cmd === 'stats') {
    process.send!({ type: 'stats', stats: await stats() });
  } else if (message.cmd === 'exit') {
    await server.close();
    process.exit(0);
  }
});
