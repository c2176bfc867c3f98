/**
 * Browser tier of `npm run bench`: real Chromium against the real server on 512 px marker clips.
 * 200+ switches at random phase (setSpeaking → first presented frame of the new loop, read from
 * the marker) and 20 fresh page loads (time to first frame, from the SDK's getStats), with where
 * the time goes. Method: docs/benchmarks.md, "Browser tier". Run alone: `npx tsx bench/browser.ts`.
 * The voice (lip sync, audio latency, interrupt, audio on against off) is bench/browserVoice.ts.
 */
import { rmSync } from 'node:fs';
import { makeMarkerVideos } from '@avatar-server/testkit';
import { chromium } from 'playwright-core';
import { chromiumArgs, executablePath } from '../e2e/support/chromium.js';
import { openDemo } from '../e2e/support/demo.js';
import { type ProbeSwitch, probeSwitch } from '../e2e/support/probe.js';
import { startServer } from '../e2e/support/server.js';
import { summary } from './stats.js';

const SWITCHES = 200;
const CONNECTIONS = 20;

type SdkStats = {
  timeToFirstFrameMs: number;
  jitterBufferMs?: number;
  decodeMs?: number;
  framesDropped: number;
  framesDecoded: number;
  roundTripTimeMs?: number;
  switchLatency: { p50?: number; p95?: number; count: number };
};

const sdkStats = (page: import('playwright-core').Page) =>
  page.evaluate(() =>
    (window as unknown as { avatar: { getStats(): Promise<SdkStats> } }).avatar.getStats(),
  );

export async function benchBrowser() {
  const dirs = await makeMarkerVideos({ idleFrames: 50, speakingFrames: 40, size: 512 });
  process.env.E2E_VIDEOS_DIR = dirs.videosDir;
  process.env.E2E_CACHE_DIR = dirs.cacheDir;
  const server = await startServer();
  const browser = await chromium.launch({ executablePath, args: chromiumArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    // biome-ignore lint/suspicious/noExplicitAny: playwright-core and @playwright/test Page types
    await openDemo(page as any, server.url);
    const switches: ProbeSwitch[] = [];
    for (let i = 0; i < SWITCHES; i++) {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      switches.push(await probeSwitch(page as any, i % 2 === 0));
      // A random wait puts the next request at a random phase of the 40 ms frame clock.
      await page.waitForTimeout(120 + Math.random() * 160);
    }
    const during = await sdkStats(page);

    const ttff: number[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      await page.reload();
      await page.waitForFunction(
        () => (window as unknown as { avatar?: { state: string } }).avatar?.state === 'connected',
      );
      ttff.push((await sdkStats(page)).timeToFirstFrameMs);
    }

    const pick = (f: (s: ProbeSwitch) => number | undefined) =>
      switches.map(f).filter((v): v is number => v !== undefined);
    const latency = pick((s) => s.latencyMs);
    const received = pick((s) => s.receivedMs);
    const decode = pick((s) => s.decodeMs);
    return {
      switches: switches.length,
      switchLatencyMs: summary(latency),
      breakdownMs: {
        serverRequestToSend: summary(pick((s) => s.serverMs)),
        callToFrameReceived: summary(received),
        decode: summary(decode),
        receivedToShown: summary(
          pick((s) => (s.receivedMs === undefined ? undefined : s.latencyMs - s.receivedMs)),
        ),
      },
      sdkSwitchLatencyMs: during.switchLatency,
      timeToFirstFrameMs: summary(ttff),
      getStats: {
        jitterBufferMs: during.jitterBufferMs,
        decodeMs: during.decodeMs,
        roundTripTimeMs: during.roundTripTimeMs,
        framesDecoded: during.framesDecoded,
        framesDropped: during.framesDropped,
      },
      goals: { switchP95Ms: 60, ttffP95Ms: 250 },
    };
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dirs.root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { machine } = await import('./stats.js');
  console.log(
    JSON.stringify(
      { benchmark: 'browser', machine: machine(), ...(await benchBrowser()) },
      null,
      2,
    ),
  );
}
