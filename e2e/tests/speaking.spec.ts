import { avatarProp, openDemo } from '../support/demo.js';
import { probeSwitch, waitForLoop } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

test('speaking on and off switch the loops; each switch is timed in the page', async ({ page }) => {
  await openDemo(page, server.url);
  const latencies: number[] = [];
  for (let i = 0; i < 10; i++) {
    const on = i % 2 === 0;
    const s = await probeSwitch(page, on);
    latencies.push(s.latencyMs);
    // Random phase against the 40 ms frame clock.
    await page.waitForTimeout(150 + Math.random() * 200);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const report = `switch latency (setSpeaking → first frame of the new loop shown): ${latencies
    .map((v) => v.toFixed(0))
    .join(', ')} ms; median ${sorted[5]!.toFixed(0)} ms`;
  console.log(report);
  test.info().annotations.push({ type: 'switch latency', description: report });
  // Generous (the goal, p95 ≤ 60 ms, is measured by bench/browser.ts): this catches switches that
  // wait for a keyframe (every 10 frames here: 200 ms on average at random phase) without failing
  // on one switch delayed by a loaded machine (one took 414 ms at a load average of 14).
  expect(sorted[5], 'median switch latency, ms').toBeLessThan(150);
  expect(sorted.at(-1), 'slowest switch latency, ms').toBeLessThan(1000);

  // The SDK measured the same switches itself, from receive times alone.
  const stats = await page.evaluate(() =>
    (
      window as unknown as {
        avatar: { getStats(): Promise<{ switchLatency: { count: number; p50: number } }> };
      }
    ).avatar.getStats(),
  );
  expect(stats.switchLatency.count).toBeGreaterThanOrEqual(8);
  expect(stats.switchLatency.p50).toBeLessThan(400);
});

test('the hold button, the Space and Enter keys and the toggle drive the avatar', async ({
  page,
}) => {
  await openDemo(page, server.url);
  // What the page shows (the probe reads each frame's marker), not just the wanted state.
  const hold = page.locator('#hold');
  await hold.hover();
  await page.mouse.down();
  await waitForLoop(page, 1);
  await expect(page.locator('#stage')).toHaveAttribute('data-speaking', 'true');
  await expect(hold).toHaveAttribute('aria-pressed', 'true');
  await page.mouse.up();
  await waitForLoop(page, 0);
  await expect(hold).toHaveAttribute('aria-pressed', 'false');

  await page.keyboard.down('Space');
  await waitForLoop(page, 1);
  await page.keyboard.up('Space');
  await waitForLoop(page, 0);

  await hold.focus();
  await page.keyboard.down('Enter');
  await waitForLoop(page, 1);
  await page.keyboard.up('Enter');
  await waitForLoop(page, 0);

  await page.locator('#toggle').check({ force: true });
  await waitForLoop(page, 1);
  // Holding and letting go while the toggle is on keeps the avatar speaking.
  await hold.hover();
  await page.mouse.down();
  await page.mouse.up();
  // The release is handled (the button is up) and the avatar is still asked to speak.
  await expect(hold).toHaveAttribute('aria-pressed', 'false');
  expect(await avatarProp(page, 'speaking'), 'speaking after the release, toggle on').toBe(true);
  await waitForLoop(page, 1);
  await page.locator('#toggle').uncheck({ force: true });
  await waitForLoop(page, 0);
});

test('Space on a focused picker is left to the picker', async ({ page }) => {
  await openDemo(page, server.url);
  await page.evaluate(() => {
    const picker = document.getElementById('picker')!;
    picker.hidden = false;
    document.getElementById('avatars')!.focus();
  });
  await page.keyboard.down('Space');
  // While Space is held on the picker (its key event is handled once down() resolves), the hold
  // button stays up and nothing asks the avatar to speak. After the key is up both would be idle
  // anyway, so this is checked while it is held.
  await expect(page.locator('#hold')).toHaveAttribute('aria-pressed', 'false');
  expect(await avatarProp(page, 'speaking'), 'speaking while Space is held on the picker').toBe(
    false,
  );
  await page.keyboard.up('Space');
});
