/**
 * A correctness run of the media workers: the real server with N workers (default 2), V werift
 * viewers (default 20) on loopback spread over them, streaming for S seconds. Reports, per worker,
 * its sessions, frames sent and late, loop delay and GC pauses, and for the viewers whether every
 * frame the server sent arrived (pictures received vs the session's framesSent). On a 2-core
 * machine the viewers share the cores with the workers: this is a correctness run, not a capacity
 * figure (that is `npm run bench:capacity`, one worker on one core).
 *
 * Run: npx tsx bench/workersRun.ts [workers=2] [viewers=20] [seconds=20]
 */
import { WhepTestClient } from '@avatar-server/testkit';
import pino from 'pino';
import { parseConfig } from '../packages/server/src/config/load.js';
import { startServer } from '../packages/server/src/server.js';
import { workerOfSession } from '../packages/server/src/workers/protocol.js';
import { machine } from './stats.js';

const [workers = 2, viewers = 20, seconds = 20] = process.argv.slice(2).map(Number);
const config = parseConfig({
  port: 0,
  host: '127.0.0.1',
  workers,
  encoder: 'x264',
  logLevel: 'silent',
  sessionRateLimit: { perMinute: 0, burst: 1 },
});
const server = await startServer(config, { logger: pino({ level: 'silent' }) });
await server.compiled;
const endpoint = `${server.url}/whep/avatars/default`;

const clients: Array<{ client: WhepTestClient; id: string }> = [];
for (let i = 0; i < viewers; i++) {
  const client = new WhepTestClient();
  const response = await client.connect(endpoint);
  if (response.status !== 201) throw new Error(`WHEP POST: ${response.status}`);
  clients.push({ client, id: client.location.split('/').at(-1)! });
}
await Promise.all(clients.map(({ client }) => client.waitForFrames(5, 30_000)));
const before = await server.media.snapshot();
const received = clients.map(({ client }) => client.frames.length);
await new Promise((ok) => setTimeout(ok, seconds * 1000));
// Every session ends at once; its final counters say how many frames it sent in all.
const sent = await Promise.all(
  clients.map(({ id }) => server.media.session('delete', { session: id, reason: 'run over' })),
);
const after = await server.media.snapshot();
// The last pictures in flight arrive.
await new Promise((ok) => setTimeout(ok, 500));
const missing = clients.map(({ client }, i) => sent[i]!.framesSent - client.frames.length);
const report = {
  workers,
  viewers,
  seconds,
  perWorker: after.map((w) => {
    const b = before.find((x) => x.index === w.index)!;
    return {
      index: w.index,
      sessions: clients.filter(({ id }) => workerOfSession(id) === w.index).length,
      framesSent: w.totals.framesSent - b.totals.framesSent,
      lateFrames: w.lateFrames - b.lateFrames,
      skippedTicks: w.skippedTicks - b.skippedTicks,
      loopDelayMs: w.loopDelayMs,
      gc: w.gc,
    };
  }),
  picturesReceivedInWindow: clients.reduce(
    (n, { client }, i) => n + client.frames.length - received[i]!,
    0,
  ),
  framesSentNotReceived: missing.reduce((n, m) => n + Math.max(0, m), 0),
  viewersMissingFrames: missing.filter((m) => m > 0).length,
  machine: machine(),
};
console.log(JSON.stringify(report, null, 2));
for (const { client } of clients) await client.close();
await server.close();
process.exit(0);
