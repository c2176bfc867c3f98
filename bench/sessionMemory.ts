/**
 * Memory per session: the real server with one media worker, and real WHEP viewers (werift, in
 * `bench/sessionMemoryLoad.ts`, another process so their memory is not counted) that complete
 * ICE, DTLS and the control data channel and stream. At each step (10, then 110 sessions by
 * default) the worker runs a full GC (this process exposes `gc` to every isolate) and reports its
 * V8 heap and off-heap buffers; RSS is the process's. Per session = the difference between steps
 * divided by the sessions added. With `--snapshots DIR`, a V8 heap snapshot of the worker is
 * written at each step; `bench/heapBreakdown.ts` compares two of them. Taking a snapshot makes
 * the worker allocate tens of MB of native memory, which stays in the RSS of later steps: RSS per
 * session is therefore not reported in that mode (run once without `--snapshots` for it).
 *
 * Run: npx tsx bench/sessionMemory.ts [--steps 10,110] [--settle 8] [--snapshots bench-out]
 *   `AVATAR_SERVER_SLIM_PEERS=none` (or a list of `events`, `dtls`, `keys`, `ice`, `sdp`, `srtp`,
 *   `strings`) measures without (or with some of) the releases of webrtc/releaseAfterConnect.ts.
 */
import { fork } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { parseConfig } from '../packages/server/src/config/load.js';
import { startServer } from '../packages/server/src/server.js';
import type { WorkerMemory } from '../packages/server/src/workers/protocol.js';
import { machine } from './stats.js';

// Before the worker starts: its isolate then has `gc()`, which the `memory` op calls. This
// thread (the HTTP front) gets it through a new context, made after the flag is set.
setFlagsFromString('--expose-gc');
const frontGc = runInNewContext('gc') as () => void;

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const steps = arg('steps', '10,110').split(',').map(Number);
const settleMs = Number(arg('settle', '8')) * 1000;
const snapshotsDir = arg('snapshots', '');
const label = arg('label', '');
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const config = parseConfig({
  port: 0,
  host: '127.0.0.1',
  videosDir: 'videos',
  encoder: 'x264',
  logLevel: 'silent',
  maxSessions: 100_000,
  // Every viewer comes from 127.0.0.1: no per-IP rate limit.
  sessionRateLimit: { perMinute: 0, burst: 1 },
  workers: 1,
  // A loaded machine may delay a viewer's handshake or receiver reports: keep its session.
  handshakeTimeoutMs: 60_000,
  receiverSilenceTimeoutMs: 60_000,
});
const server = await startServer(config, { logger: pino({ level: 'silent' }) });
await server.compiled;
const url = `${server.url}/whep/avatars/default`;

const load = fork(fileURLToPath(new URL('./sessionMemoryLoad.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
// A failed run must not leave a hundred viewers behind.
process.on('exit', () => load.kill());
type LoadReply = { type: string; [key: string]: unknown };
const replies: Array<(m: LoadReply) => void> = [];
load.on('message', (m: LoadReply) => replies.shift()?.(m));
const ask = (message: object) =>
  new Promise<LoadReply>((ok) => {
    replies.push(ok);
    if (Object.keys(message).length) load.send(message);
  });
await ask({});

/**
 * Where the process's RSS is, from /proc/self/smaps (Linux): glibc's malloc arenas (the worker
 * thread's native allocations — OpenSSL contexts, Buffers made in C++ — live in a thread arena,
 * a 64 MB-aligned mapping), the main thread's brk heap, file-backed pages (code, libraries), and
 * the rest of the anonymous memory (V8's heap pages, large mmapped allocations, stacks).
 */
function smaps(): Record<string, number> | undefined {
  if (!existsSync('/proc/self/smaps')) return undefined;
  const parts = { mallocArenas: 0, mallocBrk: 0, files: 0, otherAnonymous: 0 };
  let kind: keyof typeof parts = 'otherAnonymous';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      const path = head[2]!;
      if (path === '[heap]') kind = 'mallocBrk';
      else if (path.startsWith('/')) kind = 'files';
      else if (path === '' && start % (64n << 20n) === 0n) kind = 'mallocArenas';
      else kind = 'otherAnonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts[kind] += Number(rss[1]) * 1024;
  }
  return parts;
}

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

type Step = {
  sessions: number;
  rss: number;
  heapPhysical: number;
  frontHeapPhysical: number;
  rssParts: Record<string, number> | undefined;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  udpSockets: number;
  streaming: LoadReply;
};

async function measure(sessions: number): Promise<Step> {
  // Three collections a second apart; the lowest heap is the one with the least in flight.
  let best: WorkerMemory | undefined;
  for (let i = 0; i < 3; i++) {
    frontGc();
    const m = await server.media.memory(0, true);
    if (!m.collected) throw new Error('the worker could not collect garbage (no gc exposed)');
    if (!best || m.heapUsed < best.heapUsed) best = m;
    await sleep(1000);
  }
  const [snapshot] = await server.media.snapshot();
  // Every viewer received packets since the last report, and its channel is open.
  const streaming = await ask({ cmd: 'report' });
  return {
    sessions,
    rss: process.memoryUsage().rss,
    heapPhysical: best!.heapPhysical,
    frontHeapPhysical: getHeapStatistics().total_physical_size,
    rssParts: smaps(),
    heapUsed: best!.heapUsed,
    external: best!.external,
    arrayBuffers: best!.arrayBuffers,
    udpSockets: snapshot?.udpSockets ?? -1,
    streaming,
  };
}

const results: Step[] = [];
for (const target of steps) {
  const opened = await ask({ cmd: 'open', url, count: target - server.media.size });
  // Sessions of viewers that gave up (and were retried) end with their DELETE.
  for (let i = 0; i < 50 && server.media.size !== target; i++) await sleep(100);
  if (server.media.size !== target) {
    throw new Error(
      `wanted ${target} sessions, have ${server.media.size}: ${JSON.stringify(opened)}`,
    );
  }
  await ask({ cmd: 'report' });
  await sleep(settleMs);
  const step = await measure(target);
  if (step.streaming.silent !== 0) {
    throw new Error(`not every viewer is streaming: ${JSON.stringify(step.streaming)}`);
  }
  if (step.streaming.channelsOpen !== target) {
    console.error(`  warning: ${step.streaming.channelsOpen} of ${target} data channels open`);
  }
  results.push(step);
  console.error(
    `${target} sessions: RSS ${mb(step.rss)} MB, worker heap ${mb(step.heapUsed)} MB, external ${mb(step.external)} MB (arrayBuffers ${mb(step.arrayBuffers)} MB)`,
  );
  if (snapshotsDir) {
    mkdirSync(snapshotsDir, { recursive: true });
    const file = `${snapshotsDir}/worker${label ? `-${label}` : ''}-${target}.heapsnapshot`;
    await pipeline(await server.media.thread(0).getHeapSnapshot(), createWriteStream(file));
    console.error(`  heap snapshot: ${file}`);
  }
}

const perSession = [];
for (let i = 1; i < results.length; i++) {
  const a = results[i - 1]!;
  const b = results[i]!;
  const n = b.sessions - a.sessions;
  perSession.push({
    from: a.sessions,
    to: b.sessions,
    rssKB: snapshotsDir ? 'not measured (snapshots)' : kb((b.rss - a.rss) / n),
    heapUsedKB: kb((b.heapUsed - a.heapUsed) / n),
    externalKB: kb((b.external - a.external) / n),
    arrayBuffersKB: kb((b.arrayBuffers - a.arrayBuffers) / n),
    workerHeapPhysicalKB: kb((b.heapPhysical - a.heapPhysical) / n),
    frontHeapPhysicalKB: kb((b.frontHeapPhysical - a.frontHeapPhysical) / n),
    rssPartsKB:
      a.rssParts &&
      b.rssParts &&
      Object.fromEntries(
        Object.keys(a.rssParts).map((k) => [k, kb((b.rssParts![k]! - a.rssParts![k]!) / n)]),
      ),
  });
}
console.log(
  JSON.stringify(
    {
      label,
      slimPeers: process.env.AVATAR_SERVER_SLIM_PEERS ?? 'all (default)',
      steps: results.map((s) => ({
        sessions: s.sessions,
        rssMB: mb(s.rss),
        workerHeapUsedMB: mb(s.heapUsed),
        workerExternalMB: mb(s.external),
        workerArrayBuffersMB: mb(s.arrayBuffers),
        workerHeapPhysicalMB: mb(s.heapPhysical),
        frontHeapPhysicalMB: mb(s.frontHeapPhysical),
        rssPartsMB:
          s.rssParts && Object.fromEntries(Object.entries(s.rssParts).map(([k, v]) => [k, mb(v)])),
        udpSockets: s.udpSockets,
        streaming: s.streaming,
      })),
      perSession,
      machine: { ...machine(), loadAverage: loadavg().map((l) => +l.toFixed(2)) },
    },
    null,
    2,
  ),
);
load.send({ cmd: 'exit' });
await new Promise((ok) => load.once('exit', ok));
await server.close();
process.exit(0);
