/**
 * The viewers of `bench/soak.ts`'s steady-load phase, in their own process so the server's
 * process measures only the server. Keeps `concurrent` real werift viewers, each watching for a
 * random 5–20 s, then leaving (most by DELETE, one in four by just closing its peer), replaced at
 * once. Counts, per viewer, the frames that never arrived (gaps in the RTP timestamps, 3600 ticks
 * per frame at 25 fps). Prints one JSON line at the end.
 * Usage: tsx bench/soakViewers.ts <whep endpoint> <seconds> <concurrent>
 */
import { WhepTestClient } from '@avatar-server/testkit';

const [endpoint, secondsArg, concurrentArg] = process.argv.slice(2);
const until = performance.now() + Number(secondsArg ?? 60) * 1000;
const concurrent = Number(concurrentArg ?? 8);
const TICKS_PER_FRAME = 90_000 / 25;

const totals = { viewers: 0, failed: 0, frames: 0, missing: 0, closedOnly: 0, worstGapMs: 0 };

async function watch(): Promise<void> {
  const client = new WhepTestClient({ dataChannel: false });
  const response = await client.connect(endpoint!);
  if (response.status !== 201) {
    totals.failed++;
    await client.close();
    await new Promise((r) => setTimeout(r, 1000));
    return;
  }
  const lifeMs = Math.min(5000 + Math.random() * 15_000, Math.max(0, until - performance.now()));
  await new Promise((r) => setTimeout(r, lifeMs));
  const frames = client.frames;
  if (frames.length > 1) {
    const span = (frames.at(-1)!.timestamp - frames[0]!.timestamp) >>> 0;
    totals.missing += Math.max(0, Math.round(span / TICKS_PER_FRAME) + 1 - frames.length);
    for (let i = 1; i < frames.length; i++) {
      totals.worstGapMs = Math.max(
        totals.worstGapMs,
        frames[i]!.receivedAt - frames[i - 1]!.receivedAt,
      );
    }
  }
  totals.frames += frames.length;
  totals.viewers++;
  if (Math.random() < 0.25) totals.closedOnly++;
  else await fetch(client.location, { method: 'DELETE' });
  await client.close();
}

await Promise.all(
  Array.from({ length: concurrent }, async () => {
    while (performance.now() < until) await watch();
  }),
);
totals.worstGapMs = Math.round(totals.worstGapMs);
console.log(JSON.stringify(totals));
process.exit(0);
