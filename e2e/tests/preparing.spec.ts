import { rmSync } from 'node:fs';
import { makeMarkerVideos } from '@avatar-server/testkit';
import { startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

/** The public view of the avatar: its state and, while compiling, its progress (0–1). */
async function avatarInfo(url: string): Promise<{ state?: string; progress?: unknown }> {
  return fetch(`${url}/avatars/default`).then((r) => r.json());
}

test('the demo says it is preparing the avatar during its first compile, then plays', async ({
  page,
}) => {
  // Longer clips than globalSetup's and an empty cache: the compile takes several seconds.
  const dirs = await makeMarkerVideos({ idleFrames: 150, speakingFrames: 120, size: 512 });
  const server = await startServer(undefined, {
    videosDir: dirs.videosDir,
    cacheDir: dirs.cacheDir,
    compiled: false,
  });
  try {
    await page.goto(`${server.url}/`);
    const overlay = page.locator('#overlay-text');
    await expect(overlay).toHaveText(/^Preparing the avatar…/, { timeout: 20_000 });
    const info = await avatarInfo(server.url);
    expect(info.state, 'the compile was over too soon').toBe('compiling');
    expect(typeof info.progress, 'GET /avatars/:id reports the progress').toBe('number');
    // The page shows the server's progress as a percentage.
    await expect(overlay).toHaveText(/^Preparing the avatar… \d+ %/);
    await expect(page.locator('#badge')).toHaveText('Preparing');
    // The state cell fits its text (it used to clip "connecting").
    const cells = page.locator('.stats dd');
    for (const text of ['1234 ms', '25 fps', 'connecting', 'reconnecting']) {
      await cells.evaluateAll((dds, t) => {
        for (const dd of dds) dd.textContent = t;
      }, text);
      const clipped = await cells.evaluateAll((dds) =>
        dds.filter((dd) => dd.scrollWidth > dd.clientWidth).map((dd) => dd.id),
      );
      expect(clipped, `cells clipping "${text}"`).toEqual([]);
    }
    await page.locator('#stats').screenshot({ path: test.info().outputPath('stats.png') });
    await page.locator('#stage').screenshot({ path: test.info().outputPath('preparing.png') });
    // Then it plays, without a reload.
    await page.waitForFunction(
      () => (window as unknown as { avatar?: { state: string } }).avatar?.state === 'connected',
      null,
      { timeout: 150_000 },
    );
    await expect(page.locator('#stage')).toHaveAttribute('data-state', 'connected');
    await expect
      .poll(() => page.evaluate(() => document.querySelector('video')!.currentTime))
      .toBeGreaterThan(0);
    await expect(page.locator('#badge')).toHaveText('Live');
  } finally {
    await server.stop();
    rmSync(dirs.root, { recursive: true, force: true });
  }
});
