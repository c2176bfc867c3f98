/**
 * Server-side switch latency: from a speaking request reaching the server to the first packet of
 * the new loop being sent, over ≥ 200 switches alternating direction, at random phase to the frame
 * clock, half over the data channel and half over HTTP. Also measured at a real werift receiver on
 * loopback (request sent → first packet of the switch frame received).
 *
 * Baselines from the same requests (derived, not separately run): the wait a server that sends a
 * switch on the next frame tick would add, and the wait of one that switches only at the loop's
 * next main-chain keyframe (no switch-in chains).  Run: npx tsx bench/switchLatency.ts
 */

import { WhepTestClient } from '@avatar-server/testkit';
import pino from 'pino';
import { parseConfig } from '../packages/server/src/config/load.js';
import { startServer } from '../packages/server/src/server.js';
import { summary } from './stats.js';

export async function benchSwitchLatency(
  opts: { switches?: number; videosDir?: string; cacheDir?: string } = {},
) {
  const switches = opts.switches ?? 240;
  const config = parseConfig({
    port: 0,
    host: '127.0.0.1',
    videosDir: opts.videosDir ?? 'videos',
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    encoder: 'x264',
    logLevel: 'silent',
  });
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  await server.compiled;
  const rssWithAvatarMB = +(process.memoryUsage().rss / 1e6).toFixed(1);
  const client = new WhepTestClient();
  try {
    const response = await client.connect(`${server.url}/whep/avatars/default`);
    if (response.status !== 201)
      throw new Error(`WHEP POST failed: ${response.status} ${await response.text()}`);
    await client.waitForControlChannel();
    await client.waitForFrames(25);
    // The session and its frame clock live in a media worker: its tick phase is read from the
    // pictures arriving here (one per tick, loopback), its cursor from the worker.
    const session = client.location.split('/').at(-1)!;
    const periodMs = 1000 / config.fps;
    const G = config.keyframeInterval;

    const serverMs: number[] = [];
    const receiveMs: number[] = [];
    const nextTickMs: number[] = [];
    const nextKeyframeMs: number[] = [];
    const byTransport = { datachannel: [] as number[], http: [] as number[] };
    for (let i = 0; i < switches; i++) {
      // Random phase relative to the 40 ms tick, and some frames between switches.
      await new Promise((r) => setTimeout(r, 80 + Math.random() * 120));
      const speaking = i % 2 === 0;
      const framesBefore = client.frames.length;
      const view = await server.media.session('get', { session });
      const now = performance.now();
      const lastPicture = client.frames.at(-1)!.receivedAt;
      const toNextTick = (((lastPicture + periodMs - now) % periodMs) + periodMs) % periodMs;
      nextTickMs.push(toNextTick);
      const framesToKeyframe = (G - ((view?.cursor.frame ?? 0) % G)) % G;
      nextKeyframeMs.push(framesToKeyframe * periodMs + toNextTick);
      let change: { latencyMs: number };
      if (i % 4 < 2) {
        change = (await client.request({ type: 'speaking', speaking })) as { latencyMs: number };
        byTransport.datachannel.push(change.latencyMs);
      } else {
        const res = await fetch(`${client.location}/speaking`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ speaking }),
        });
        change = (await res.json()) as { latencyMs: number };
        byTransport.http.push(change.latencyMs);
      }
      serverMs.push(change.latencyMs);
      await client.waitForFrames(framesBefore + 1);
      const switchFrame = client.frames.slice(framesBefore).find((f) => f.keyframe);
      if (switchFrame) receiveMs.push(switchFrame.receivedAt - now);
    }
    return {
      rssWithAvatarMB,
      switches,
      serverRequestToFirstPacketMs: summary(serverMs),
      serverByTransportMs: {
        datachannel: summary(byTransport.datachannel),
        http: summary(byTransport.http),
      },
      receiverRequestToSwitchFrameMs: summary(receiveMs),
      baselineWaitForNextTickMs: summary(nextTickMs),
      baselineWaitForNextMainKeyframeMs: summary(nextKeyframeMs),
      sessionStats: (await server.media.session('get', { session }))?.stats,
    };
  } finally {
    await client.close();
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchSwitchLatency(), null, 2));
}
