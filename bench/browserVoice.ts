/**
 * Browser tier of `npm run bench`, the voice: real Chromium against the real server on 512 px
 * marker clips, the demo page with the SDK. In one run:
 * - switch latency and time to first frame with audio off (`?audio=0`, the baseline) and on;
 * - utterances of a tone burst with a known onset (300 ms of silence, then 600 ms of tone):
 *   lip sync (first speaking frame presented, rVFC + marker, minus the audio onset heard by an
 *   AudioWorklet on the received track, both on the page clock) and audio latency
 *   (`avatar.speak(blob)` called → onset heard; the 300 ms of lead-in silence are subtracted),
 *   and the same for the clip streamed as PCM on the data channel (`speak(readableStream)`);
 * - an onset is the start of a sound that lasts (ear.ts `sounds()`), not one loud block;
 * - interrupts during a long tone: `avatar.interrupt()` called → the last block heard above
 *   silence.
 * Method: docs/benchmarks.md, "The voice in Chromium". Run alone: `npx tsx bench/browserVoice.ts`.
 */
import { rmSync } from 'node:fs';
import { makeMarkerVideos } from '@avatar-server/testkit';
import { chromium, type Page } from 'playwright-core';
import { chromiumArgs, executablePath } from '../e2e/support/chromium.js';
import {
  type EarLevel,
  installEar,
  makeAudio,
  SOUND,
  sounds,
  waitForLevel,
} from '../e2e/support/ear.js';
import {
  installProbe,
  type ProbeFrame,
  type ProbeSwitch,
  probeSwitch,
  waitForLoop,
} from '../e2e/support/probe.js';
import { startServer } from '../e2e/support/server.js';
import { summary } from './stats.js';

const SWITCHES = 60;
const CONNECTIONS = 10;
const UTTERANCES = 30;
const STREAMS = 15;
const INTERRUPTS = 15;
/** Silence before the burst in the test clip: its onset is known. */
const LEAD_MS = 300;

type PageLike = Parameters<typeof installProbe>[0];
// biome-ignore lint/suspicious/noExplicitAny: playwright-core and @playwright/test Page types
const asTestPage = (page: Page) => page as any as PageLike;

type Trial = { t0: number; levels: EarLevel[]; frames: ProbeFrame[]; t1?: number };

/**
 * Calls speak() with a WAV, or with `pcmRate` a stream of PCM (100 ms chunks, on the data
 * channel), and interrupts after `interruptAfterMs` of sound; what was seen and heard.
 */
function trial(
  page: Page,
  audio: Buffer,
  interruptAfterMs?: number,
  pcmRate?: number,
): Promise<Trial> {
  return page.evaluate(
    async ([b64, after, sound, rate]) => {
      type W = typeof window & {
        avatar: {
          speak(b: Blob | ReadableStream<Uint8Array>, o?: { rate: number }): Promise<unknown>;
          interrupt(): Promise<void>;
        };
        ear: { levels: { t: number; rms: number }[] };
        probe: { frames: { shown: number }[] };
      };
      const w = window as W;
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const chunk = (rate * 2) / 10;
      const source = rate
        ? new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < bytes.length; i += chunk)
                controller.enqueue(bytes.slice(i, i + chunk));
              controller.close();
            },
          })
        : new Blob([bytes], { type: 'audio/wav' });
      const t0 = performance.now();
      const done = w.avatar.speak(source, rate ? { rate } : undefined);
      let t1: number | undefined;
      if (after !== null) {
        // Interrupt once the tone has been heard for `after` ms.
        for (;;) {
          await new Promise((r) => setTimeout(r, 5));
          const loud = w.ear.levels.find((l) => l.t > t0 && l.rms > sound);
          if (loud && performance.now() - loud.t >= after) break;
        }
        t1 = performance.now();
        await w.avatar.interrupt();
      }
      await done;
      // Let the tail (and the idle frames after it) be heard and shown.
      await new Promise((r) => setTimeout(r, 600));
      return {
        t0,
        t1,
        levels: w.ear.levels.filter((l) => l.t >= t0),
        frames: w.probe.frames.filter((f) => f.shown >= t0) as never,
      };
    },
    [audio.toString('base64'), interruptAfterMs ?? null, SOUND, pcmRate ?? 0] as const,
  );
}

/** The receiver's jitter buffers (mean delay and target, ms) per kind, from the page's peer connections. */
function receiverStats(page: Page) {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { pcs: RTCPeerConnection[] }).pcs.filter(
      (pc) => pc.connectionState === 'connected',
    );
    const out: Record<string, { jitterBufferMs: number; targetMs: number }> = {};
    for (const pc of pcs) {
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const n = s.jitterBufferEmittedCount || 1;
        out[s.kind] = {
          jitterBufferMs: (1000 * s.jitterBufferDelay) / n,
          targetMs: (1000 * s.jitterBufferTargetDelay) / n,
        };
      });
    }
    return out;
  });
}

/** Switches and fresh loads of the demo, audio on or off. */
async function switching(page: Page, url: string) {
  const switches: ProbeSwitch[] = [];
  const ttff: number[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    await page.goto(url);
    await page.waitForFunction(
      () => (window as unknown as { avatar?: { state: string } }).avatar?.state === 'connected',
      null,
      { timeout: 30_000 },
    );
    ttff.push(
      await page.evaluate(() =>
        (
          window as unknown as { avatar: { getStats(): Promise<{ timeToFirstFrameMs: number }> } }
        ).avatar
          .getStats()
          .then((s) => s.timeToFirstFrameMs),
      ),
    );
  }
  await installProbe(asTestPage(page));
  for (let i = 0; i < SWITCHES; i++) {
    switches.push(await probeSwitch(asTestPage(page), i % 2 === 0));
    await page.waitForTimeout(120 + Math.random() * 160);
  }
  return {
    switchLatencyMs: summary(switches.map((s) => s.latencyMs)),
    timeToFirstFrameMs: summary(ttff),
  };
}

export async function benchBrowserVoice() {
  const dirs = await makeMarkerVideos({ idleFrames: 50, speakingFrames: 40, size: 512 });
  process.env.E2E_VIDEOS_DIR = dirs.videosDir;
  process.env.E2E_CACHE_DIR = dirs.cacheDir;
  const server = await startServer();
  const browser = await chromium.launch({ executablePath, args: chromiumArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    // tsx compiles with keepNames, which wraps functions passed to the page in __name().
    await page.addInitScript('globalThis.__name ??= (f) => f');
    // The SDK's peer connections, for the receiver's jitter-buffer figures.
    await page.addInitScript(() => {
      const Native = RTCPeerConnection;
      const pcs: RTCPeerConnection[] = [];
      Object.assign(window, { pcs });
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          super(config);
          pcs.push(this);
        }
      };
    });
    const audioOff = await switching(page, `${server.url}/?audio=0`);
    const audioOn = await switching(page, `${server.url}/`);

    await installEar(asTestPage(page));
    const burst = makeAudio(`0.5*sin(2*PI*440*t)*gte(t\\,${LEAD_MS / 1000})`, 0.9);
    const long = makeAudio('0.5*sin(2*PI*440*t)', 4);
    const lipSync: number[] = [];
    const latency: number[] = [];
    const interrupt: number[] = [];
    let missed = 0;
    let unobserved = 0;
    for (let i = 0; i < UTTERANCES; i++) {
      await waitForLoop(asTestPage(page), 0);
      await waitForLevel(asTestPage(page), false, 150);
      await page.waitForTimeout(Math.random() * 200);
      const t = await trial(page, burst);
      const onset = sounds(t.levels)[0]?.start;
      const at = t.frames.findIndex((f) => f.loop === 1);
      const face = t.frames[at];
      const before = t.frames[at - 1];
      if (onset === undefined || !face || !before) {
        missed++;
        continue;
      }
      // A loaded page may present frames without calling back: then the first speaking frame seen
      // may not be the first shown, and the trial does not count for lip sync.
      if (face.presented - before.presented === 1) lipSync.push(face.shown - onset);
      else unobserved++;
      latency.push(onset - t.t0 - LEAD_MS);
    }
    // The same clip streamed as PCM (24 kHz) on the data channel: speak() → onset heard.
    const burstPcm = makeAudio(`0.5*sin(2*PI*440*t)*gte(t\\,${LEAD_MS / 1000})`, 0.9, 24_000);
    const streamLatency: number[] = [];
    for (let i = 0; i < STREAMS; i++) {
      await waitForLoop(asTestPage(page), 0);
      await waitForLevel(asTestPage(page), false, 150);
      const t = await trial(page, burstPcm, undefined, 24_000);
      const onset = sounds(t.levels)[0]?.start;
      if (onset === undefined) missed++;
      else streamLatency.push(onset - t.t0 - LEAD_MS);
    }
    for (let i = 0; i < INTERRUPTS; i++) {
      await waitForLoop(asTestPage(page), 0);
      await waitForLevel(asTestPage(page), false, 150);
      const t = await trial(page, long, 300 + Math.random() * 400);
      const lastLoud = sounds(t.levels).at(-1)?.end;
      if (lastLoud === undefined || t.t1 === undefined) {
        missed++;
        continue;
      }
      interrupt.push(Math.max(0, lastLoud - t.t1));
    }
    return {
      audioOff,
      audioOn,
      ratios: {
        switchP50OnOverOff: audioOn.switchLatencyMs.p50 / audioOff.switchLatencyMs.p50,
        switchP95OnOverOff: audioOn.switchLatencyMs.p95 / audioOff.switchLatencyMs.p95,
        ttffP50OnOverOff: audioOn.timeToFirstFrameMs.p50 / audioOff.timeToFirstFrameMs.p50,
      },
      lipSyncMs: { ...summary(lipSync), absP95: summary(lipSync.map(Math.abs)).p95 },
      audioLatencyMs: summary(latency),
      streamedAudioLatencyMs: summary(streamLatency),
      interruptToSilenceMs: summary(interrupt),
      missedTrials: missed,
      lipSyncTrialsWithUnobservedSwitchFrame: unobserved,
      receiver: await receiverStats(page),
      goals: { lipSyncAbsP95Ms: 40, audioLatencyP95Ms: 200, interruptMs: 60, switchP95Ms: 60 },
    };
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dirs.root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { machine } = await import('./stats.js');
  const load = (await import('node:os')).loadavg();
  console.log(
    JSON.stringify(
      {
        benchmark: 'browser-voice',
        machine: { ...machine(), loadavg: load },
        ...(await benchBrowserVoice()),
      },
      null,
      2,
    ),
  );
}
