/**
 * One packet send, two ways, on werift's real ICE agents over loopback: werift's
 * `connection.send` (three nested async calls, three promises per packet) against our
 * `iceSend` (one synchronous socket send on the nominated pair, webrtc/iceSend.ts). For each:
 * CPU per packet and the garbage collections the sends cause, with the two methods alternating
 * in one run (ratios hold on a loaded machine). The receiving agent counts what arrives.
 * Usage: npx tsx bench/sendPath.ts [packets per round, default 100000] [rounds, default 3]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { connectedIcePair } from '@avatar-server/testkit';
import { type IceConnectionInternals, iceSend } from '../packages/server/src/webrtc/iceSend.js';
import { machine } from './stats.js';

const PACKETS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Packets sent per event-loop turn: about one frame of 25 sessions at 1.5 Mbit/s. */
const BURST = 100;

type Result = { cpuUsPerPacket: number; gcCount: number; gcMs: number; received: number };

async function round(send: (data: Buffer) => void, receivedSoFar: () => number): Promise<Result> {
  const gcs: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  const before = receivedSoFar();
  const payload = Buffer.alloc(1200, 7);
  const cpu = process.cpuUsage();
  for (let sent = 0; sent < PACKETS; ) {
    for (let i = 0; i < BURST; i++, sent++) {
      // A new buffer per packet, as the SRTP writer makes one.
      const packet = Buffer.allocUnsafe(payload.length);
      payload.copy(packet);
      send(packet);
    }
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  const used = process.cpuUsage(cpu);
  observer.disconnect();
  return {
    cpuUsPerPacket: (used.user + used.system) / PACKETS,
    gcCount: gcs.length,
    gcMs: gcs.reduce((a, b) => a + b, 0),
    received: receivedSoFar() - before,
  };
}

const { controlling, controlled } = await connectedIcePair();
let received = 0;
controlling.onData.subscribe(() => received++);
const c = controlled as unknown as IceConnectionInternals;
const methods: Record<string, (data: Buffer) => void> = {
  'werift connection.send': (data) => void c.send(data).catch(() => {}),
  'iceSend (direct)': iceSend(c, () => {}),
};
const results: Record<string, Result[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  const order = Object.keys(methods);
  if (r % 2) order.reverse();
  for (const name of order) {
    results[name] ??= [];
    results[name].push(await round(methods[name]!, () => received));
  }
}
await Promise.all([controlling.close(), controlled.close()]);

console.log(
  JSON.stringify({ machine: machine(), packets: PACKETS, rounds: ROUNDS, results }, null, 2),
);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log('\nmethod | CPU µs/packet | GCs per 100k packets | GC ms per 100k | received');
for (const [name, rs] of Object.entries(results)) {
  const per100k = 100_000 / PACKETS;
  console.log(
    `${name} | ${mean(rs.map((x) => x.cpuUsPerPacket)).toFixed(2)} | ${(mean(rs.map((x) => x.gcCount)) * per100k).toFixed(1)} | ${(mean(rs.map((x) => x.gcMs)) * per100k).toFixed(1)} | ${rs.map((x) => x.received).join(', ')}`,
  );
}
