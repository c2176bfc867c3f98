/**
 * Memory of a compiled avatar with 1 and 2 media workers: the avatar's payloads live once per
 * process in a SharedArrayBuffer that every worker reads (rtp/sharedAvatar.ts), so handing it to
 * a worker must cost the worker its small index, not the avatar's size. Each worker count runs in
 * a fresh process: start the server (default avatar, from the cache after the first run), read
 * RSS, open one session per worker with `POST /streams` (the avatar goes to every worker), read
 * RSS again.
 *
 * Run: npx tsx bench/workerMemory.ts            (both counts, one child process each)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@avatar-server/testkit';
import pino from 'pino';
import { parseConfig } from '../packages/server/src/config/load.js';
import { startServer } from '../packages/server/src/server.js';
import { machine } from './stats.js';

const rssMb = () => Math.round(process.memoryUsage().rss / 1e5) / 10;
const settle = () => new Promise((ok) => setTimeout(ok, 2000));

async function measure(workers: number) {
  const config = parseConfig({
    port: 0,
    host: '127.0.0.1',
    workers,
    encoder: 'x264',
    logLevel: 'silent',
    // The sessions wait for an answer that never comes: keep them for the measurement.
    handshakeTimeoutMs: 120_000,
    sessionRateLimit: { perMinute: 0, burst: 1 },
  });
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  await server.compiled;
  await waitFor(async () => (await server.media.snapshot()).length === workers, {
    timeoutMs: 60_000,
    what: 'every worker to answer',
  });
  await settle();
  const idle = rssMb();
  for (let i = 0; i < workers; i++) {
    const created = await fetch(`${server.url}/streams`, { method: 'POST', body: '{}' });
    if (created.status !== 201) throw new Error(`POST /streams: ${created.status}`);
  }
  const spread = (await server.media.snapshot()).map((w) => w.sessions.length);
  await settle();
  const handed = rssMb();
  const status = (await (await fetch(`${server.url}/status`)).json()) as {
    memory: { compiledAvatarsMb: number };
  };
  await server.close();
  return {
    workers,
    sessionsPerWorker: spread,
    avatarMb: status.memory.compiledAvatarsMb,
    rssIdleMb: idle,
    rssAvatarInEveryWorkerMb: handed,
    handOverMb: Math.round((handed - idle) * 10) / 10,
  };
}

const child = process.argv.indexOf('--workers');
if (child > 0) {
  console.log(JSON.stringify(await measure(Number(process.argv[child + 1]))));
  process.exit(0);
}
const results = [1, 2].map((n) => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--workers', String(n)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
});
console.log(
  JSON.stringify({ results, machine: machine(), date: new Date().toISOString() }, null, 2),
);
