import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { build } from 'vite';
import { type RecordingProxy, startProxy } from '../support/proxy.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

/**
 * The React binding in Chromium: <AvatarVideo> in StrictMode plays, speaks, and its sessions (the
 * strict-mode first mount's too) are deleted; unmounting deletes the one that played.
 */

let server: ServerProcess;
let proxy: RecordingProxy;
test.beforeAll(async () => {
  server = await startServer();
  proxy = await startProxy(server.url);
  // The fixture app bundled with React and the built packages, as an app's bundler would.
  const out = await build({
    configFile: false,
    logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"development"' },
    build: {
      write: false,
      minify: false,
      lib: {
        entry: fileURLToPath(new URL('../fixtures/react-app.ts', import.meta.url)),
        formats: ['es'],
        fileName: 'react-app',
      },
    },
  });
  const [result] = Array.isArray(out) ? out : [out];
  const chunk = (result as { output: { type: string; code?: string }[] }).output.find(
    (o) => o.type === 'chunk',
  );
  // Inline: the proxy serves extra pages as HTML.
  const code = chunk!.code!.replaceAll('</script', '<\\/script');
  proxy.pages.set('react.html', `<div id="root"></div><script type="module">${code}</script>`);
});
test.afterAll(async () => {
  await proxy.close();
  await server.stop();
});

const avatarState = (page: Page) =>
  page.evaluate(() => (window as unknown as { avatar?: { state: string } }).avatar?.state);

test('<AvatarVideo> in StrictMode plays and speaks; unmounting deletes its session', async ({
  page,
}) => {
  await page.goto(`${proxy.url}/react.html`);
  await expect.poll(() => avatarState(page), { timeout: 30_000 }).toBe('connected');
  expect(await page.evaluate(() => (window as unknown as { reactState: string }).reactState)).toBe(
    'connected',
  );
  // Frames on screen in the component's <video>.
  await expect
    .poll(() => page.evaluate(() => document.querySelector('video')!.currentTime))
    .toBeGreaterThan(0.2);
  const result = await page.evaluate(() =>
    (
      window as unknown as { avatar: { setSpeaking(on: boolean): Promise<{ speaking: boolean }> } }
    ).avatar.setSpeaking(true),
  );
  expect(result.speaking).toBe(true);
  const sessionUrl = await page.evaluate(
    () => (window as unknown as { avatar: { sessionUrl: string } }).avatar.sessionUrl,
  );
  expect(await fetch(sessionUrl).then((r) => r.status)).toBe(200);

  await page.evaluate(() => (window as unknown as { unmount(): void }).unmount());
  await expect(page.getByText('unmounted')).toBeVisible();
  await expect.poll(() => fetch(sessionUrl).then((r) => r.status)).toBe(404);
  expect(await avatarState(page)).toBe('closed');
  // Every session created (the strict-mode first mount's included, if it got that far) was deleted.
  const created = proxy.seen.filter((s) => s.method === 'POST' && s.status === 201);
  expect(created.length).toBeGreaterThanOrEqual(1);
  for (const s of created) {
    await expect.poll(() => fetch(s.location!).then((r) => r.status)).toBe(404);
  }
});
