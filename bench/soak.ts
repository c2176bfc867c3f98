/**
 * Soak and leak check (a benchmark, not a timed test; figures in docs/reliability.md).
 *   1. `cycles` create/delete cycles (WHEP POST with a real offer → 201 → DELETE), 4 at a time:
 *      RSS growth after a forced GC, and sessions, UDP sockets and timers left behind.
 *   2. A steady load for `seconds`: `viewers` real werift viewers in another process
 *      (bench/soakViewers.ts) coming and going; RSS sampled every 5 s, frames missing at the
 *      viewers, frames the server sent late; then the same leftovers check.
 * Run: node --expose-gc --import tsx bench/soak.ts [--cycles 10000] [--seconds 180] [--viewers 8]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { WhepTestClient } from '@avatar-server/testkit';
import pino from 'pino';
import { parseConfig } from '../packages/server/src/config/load.js';
import { startServer } from '../packages/server/src/server.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '180' },
    viewers: { type: 'string', default: '8' },
  },
});
const CYCLES = Number(values.cycles);
const SECONDS = Number(values.seconds);
const VIEWERS = Number(values.viewers);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/soak.ts');
const settle = async () => {
  await new Promise((r) => setTimeout(r, 2000));
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
};
const mb = (bytes: number) => +(bytes / 1e6).toFixed(1);
/** Node's active handles and requests, counted by kind (UDPWrap: ICE sockets; Timeout: timers). */
const resources = () => {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
};
const memory = () => ({
  rssMB: mb(process.memoryUsage().rss),
  heapMB: mb(process.memoryUsage().heapUsed),
});
/** After a forced GC: RSS (the median of 5 samples 0.5 s apart: the allocator returns memory in
 * steps), heap and the active resources. */
async function settled() {
  await settle();
  const rss: number[] = [];
  for (let i = 0; i < 5; i++) {
    rss.push(memory().rssMB);
    await new Promise((r) => setTimeout(r, 500));
  }
  return { ...memory(), rssMB: rss.sort((a, b) => a - b)[2]!, resources: resources() };
}

const server = await startServer(
  parseConfig({
    port: 0,
    host: '127.0.0.1',
    videosDir: 'videos',
    encoder: 'x264',
    maxSessions: 1000,
    sessionRateLimit: { perMinute: 0, burst: 1 },
    logLevel: 'silent',
  }),
  { logger: pino({ level: 'silent' }) },
);
await server.compiled;
const endpoint = `${server.url}/whep/avatars/default`;

const probe = new WhepTestClient();
await probe.pc.setLocalDescription(await probe.pc.createOffer());
const offer = probe.pc.localDescription!.sdp;
await probe.close();

async function cycle() {
  const created = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp' },
    body: offer,
  });
  await created.text();
  if (created.status !== 201) throw new Error(`POST ${created.status}`);
  const deleted = await fetch(created.headers.get('location')!, { method: 'DELETE' });
  if (deleted.status !== 200) throw new Error(`DELETE ${deleted.status}`);
}
async function cycles(n: number) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < n) await cycle();
    }),
  );
}

// 1. Create/delete cycles, after a warm-up so lazily built state is in the baseline.
await cycles(500);
const before = await settled();
const startedAt = performance.now();
await cycles(CYCLES);
const cyclesSeconds = +((performance.now() - startedAt) / 1000).toFixed(1);
const after = await settled();
const cycleReport = {
  cycles: CYCLES,
  seconds: cyclesSeconds,
  perSecond: +(CYCLES / cyclesSeconds).toFixed(0),
  before,
  after,
  rssGrowthPercent: +((100 * (after.rssMB - before.rssMB)) / before.rssMB).toFixed(1),
  sessionsLeft: server.media.size,
};
console.log(JSON.stringify({ phase: 'cycles', ...cycleReport }, null, 2));

// 2. Steady load with viewers coming and going.
const steadyBefore = after;
/** Frames sent and late, over the media workers. */
const frameCounts = async () => {
  const workers = await server.media.snapshot();
  return {
    sent: workers.reduce((n, w) => n + w.totals.framesSent, 0),
    late: workers.reduce((n, w) => n + w.lateFrames, 0),
  };
};
const countsBefore = await frameCounts();
const rssSamples: number[] = [];
const sampler = setInterval(() => rssSamples.push(memory().rssMB), 5000);
const child = spawn(
  process.execPath,
  ['--import', 'tsx', 'bench/soakViewers.ts', endpoint, String(SECONDS), String(VIEWERS)],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
child.stdout.on('data', (d: Buffer) => {
  out += d.toString();
});
await new Promise((r) => child.once('exit', r));
clearInterval(sampler);
// Viewers that only closed their peer are ended by the server (connection closed or RTCP silence).
const drainedAt = performance.now();
while (server.media.size > 0 && performance.now() - drainedAt < 30_000) {
  await new Promise((r) => setTimeout(r, 250));
}
const steadyAfter = await settled();
const viewers = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
const steadyReport = {
  seconds: SECONDS,
  concurrentViewers: VIEWERS,
  viewers,
  framesSent: (await frameCounts()).sent - countsBefore.sent,
  framesSentLate: (await frameCounts()).late - countsBefore.late,
  rssMB: { start: steadyBefore.rssMB, min: Math.min(...rssSamples), max: Math.max(...rssSamples) },
  before: steadyBefore,
  after: steadyAfter,
  sessionsLeft: server.media.size,
  drainSeconds: +((performance.now() - drainedAt) / 1000).toFixed(1),
};
console.log(JSON.stringify({ phase: 'steady', ...steadyReport }, null, 2));
console.log(JSON.stringify({ machine: machine() }));
await server.close();
process.exit(0);
