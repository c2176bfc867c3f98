import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { openDemo } from '../support/demo.js';
import { probeFrames } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

test('the demo plays idle frames in order at about 25 fps, 512×512', async ({ page }) => {
  await openDemo(page, server.url);
  // Three seconds of frames (waiting on the count, not on a clock).
  await page.waitForFunction(
    () => (window as unknown as { probe: { frames: unknown[] } }).probe.frames.length >= 75,
    null,
    { timeout: 20_000 },
  );
  const frames = await probeFrames(page);
  expect(frames.every((f) => f.width === 512 && f.height === 512)).toBe(true);
  expect(frames.every((f) => f.loop === 0)).toBe(true);

  const seconds = (frames.at(-1)!.shown - frames[0]!.shown) / 1000;
  const fps = (frames.length - 1) / seconds;
  console.log(`playback: ${fps.toFixed(1)} fps over ${frames.length} frames`);
  expect(fps).toBeGreaterThan(20);
  expect(fps).toBeLessThan(30);

  // Consecutive idle frames: each the next one of the loop, except where the loop wraps (the
  // server may play a trimmed span of the clip, so the wrap need not be 49 → 0). A rare skipped
  // frame is allowed (a loaded machine), never a jump backwards inside the loop.
  const steps = frames.slice(1).map((f, i) => f.frame - frames[i]!.frame);
  const inOrder = steps.filter((d) => d === 1).length / steps.length;
  const wraps = steps.filter((d) => d < 0).length;
  console.log(`playback: ${(inOrder * 100).toFixed(0)} % of frame steps are +1, ${wraps} wraps`);
  expect(inOrder).toBeGreaterThan(0.9);
  expect(wraps).toBeLessThanOrEqual(Math.ceil(frames.length / 20));
  expect(steps.filter((d) => d >= 0).every((d) => d >= 1 && d <= 3)).toBe(true);

  await expect(page.locator('#s-state')).toHaveText('connected');
  await expect(page.locator('#s-fps')).toContainText('fps');
  // Kept as a test artefact (e2e/artifacts/, not committed) to look at.
  const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}demo.png` });
});

test('ready fires on the first frame, and a page that only uses the SDK gets no black start', async ({
  page,
}) => {
  await openDemo(page, server.url);
  const result = await page.evaluate(async () => {
    const video = document.querySelector('video')!;
    return { readyState: video.readyState, playsInline: video.playsInline, muted: video.muted };
  });
  expect(result.readyState).toBeGreaterThanOrEqual(2);
  expect(result.playsInline && result.muted).toBe(true);
  await expect(page.locator('#overlay')).toBeHidden();
});
