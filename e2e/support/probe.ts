import { readFileSync } from 'node:fs';
import { markerCodeFile } from '@avatar-server/testkit';
import type { Page } from '@playwright/test';
import ts from 'typescript';

/** One presented frame as the page saw it: its marker, size and rVFC timings (ms, page clock). */
export type ProbeFrame = {
  loop: number;
  frame: number;
  width: number;
  height: number;
  shown: number;
  recv: number | undefined;
  decodeMs: number | undefined;
  /** rVFC's count of frames presented: a jump of more than 1 means frames shown without a callback. */
  presented: number;
};

/** A measured switch: setSpeaking call (t0) → first presented frame of the new loop. */
export type ProbeSwitch = {
  latencyMs: number;
  /** t0 → last packet of that frame received. */
  receivedMs: number | undefined;
  decodeMs: number | undefined;
  /** What the server reported: request received → first packet of the new loop sent. */
  serverMs: number;
};

/** The marker reader from the server's test clips, as a plain script for the page. */
function markerScript(): string {
  const source = readFileSync(markerCodeFile, 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  return `${js.replace(/^export /gm, '')}\nwindow.readMarker = readMarker;`;
}

/**
 * Installs `window.probe` in the page: every presented frame of the page's <video> is drawn to a
 * small canvas, turned into luma and its marker read; `probe.switchTo(on)` times a switch made
 * with the page's `window.avatar`, both timestamps on the page's clock.
 */
export async function installProbe(page: Page): Promise<void> {
  await page.addScriptTag({ content: markerScript() });
  await page.evaluate(() => {
    type W = typeof window & {
      readMarker(y: Uint8Array, w: number, h: number): { loop: number; frame: number } | null;
      avatar: { setSpeaking(on: boolean): Promise<{ latencyMs: number }> };
      probe: unknown;
    };
    const w = window as W;
    const video = document.querySelector('video')!;
    const size = 128;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const frames: ProbeFrame[] = [];
    const waiters = new Set<(f: ProbeFrame) => void>();
    const luma = new Uint8Array(size * size);
    const onFrame = (now: number, meta: VideoFrameCallbackMetadata) => {
      ctx.drawImage(video, 0, 0, size, size);
      const rgba = ctx.getImageData(0, 0, size, size).data;
      for (let i = 0; i < luma.length; i++) {
        luma[i] = 0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!;
      }
      const marker = w.readMarker(luma, size, size);
      const f: ProbeFrame = {
        loop: marker?.loop ?? -1,
        frame: marker?.frame ?? -1,
        width: meta.width,
        height: meta.height,
        shown: meta.expectedDisplayTime ?? now,
        recv: meta.receiveTime,
        decodeMs:
          meta.processingDuration === undefined ? undefined : meta.processingDuration * 1000,
        presented: meta.presentedFrames,
      };
      frames.push(f);
      if (frames.length > 5000) frames.shift();
      for (const waiter of [...waiters]) waiter(f);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    const nextFrame = (test: (f: ProbeFrame) => boolean) =>
      new Promise<ProbeFrame>((resolve) => {
        const waiter = (f: ProbeFrame) => {
          if (!test(f)) return;
          waiters.delete(waiter);
          resolve(f);
        };
        waiters.add(waiter);
      });
    w.probe = {
      frames,
      nextFrame,
      async switchTo(on: boolean): Promise<ProbeSwitch> {
        const seen = nextFrame((f) => f.loop === (on ? 1 : 0));
        const t0 = performance.now();
        const reply = await w.avatar.setSpeaking(on);
        const f = await seen;
        return {
          latencyMs: f.shown - t0,
          receivedMs: f.recv === undefined ? undefined : f.recv - t0,
          decodeMs: f.decodeMs,
          serverMs: reply.latencyMs,
        };
      },
    };
  });
}

/** The frames the probe recorded so far. */
export function probeFrames(page: Page): Promise<ProbeFrame[]> {
  return page.evaluate(
    () => (window as unknown as { probe: { frames: ProbeFrame[] } }).probe.frames,
  );
}

/** Times one switch in the page (see installProbe). */
export function probeSwitch(page: Page, on: boolean): Promise<ProbeSwitch> {
  return page.evaluate(
    (v) =>
      (
        window as unknown as { probe: { switchTo(on: boolean): Promise<ProbeSwitch> } }
      ).probe.switchTo(v),
    on,
  );
}

/** Waits until the probe has seen a frame of `loop` (0 idle, 1 speaking). */
export async function waitForLoop(page: Page, loop: number): Promise<void> {
  await page.waitForFunction(
    (l) => {
      const probe = (window as unknown as { probe: { frames: ProbeFrame[] } }).probe;
      return probe.frames.at(-1)?.loop === l;
    },
    loop,
    { timeout: 20_000 },
  );
}
