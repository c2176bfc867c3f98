import { expect, test } from '@playwright/test';
import { avatarProp, openDemo } from '../support/demo.js';
import { type ServerProcess, startServer } from '../support/server.js';

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

const status = (url: string) => fetch(url).then((r) => r.status);

test('close() ends the session on the server, and is idempotent', async ({ page }) => {
  await openDemo(page, server.url);
  const sessionUrl = await avatarProp(page, 'sessionUrl');
  expect(await status(sessionUrl)).toBe(200);
  await page.evaluate(async () => {
    const { avatar } = window as unknown as { avatar: { close(): Promise<void> } };
    await Promise.all([avatar.close(), avatar.close()]);
    await avatar.close();
  });
  expect(await status(sessionUrl)).toBe(404);
  expect(await avatarProp(page, 'state')).toBe('closed');
});

test('closing the tab ends the session (DELETE with keepalive on pagehide)', async ({ page }) => {
  await openDemo(page, server.url);
  const sessionUrl = await avatarProp(page, 'sessionUrl');
  expect(await status(sessionUrl)).toBe(200);
  await page.close({ runBeforeUnload: true });
  // Well before ICE consent or the server's own timeouts would notice.
  await expect.poll(() => status(sessionUrl), { timeout: 5000 }).toBe(404);
});
