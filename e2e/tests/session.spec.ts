import { createServer, type Server } from 'node:http';
import { avatarProp, openDemo } from '../support/demo.js';
import { type RecordingProxy, startProxy } from '../support/proxy.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

// The page talks to the server through a recording proxy: a closed peer connection ends a session
// by itself (DTLS close alert), so only the request proves that the SDK sent a DELETE.
let server: ServerProcess;
let proxy: RecordingProxy;
test.beforeAll(async () => {
  server = await startServer();
  proxy = await startProxy(server.url);
});
test.afterAll(async () => {
  await proxy.close();
  await server.stop();
});
test.beforeEach(() => {
  proxy.seen.length = 0;
});

const status = (url: string) => fetch(url).then((r) => r.status);
const requests = (method: string, url: string) =>
  proxy.seen.filter((s) => s.method === method && `${proxy.url}${s.path}` === url);

test('close() sends one DELETE for the session, and is idempotent', async ({ page }) => {
  await openDemo(page, proxy.url);
  const sessionUrl = await avatarProp(page, 'sessionUrl');
  const prefix = `${proxy.url}/whep/sessions/`;
  expect(sessionUrl.startsWith(prefix), `${sessionUrl} starts with ${prefix}`).toBe(true);
  expect(await status(sessionUrl)).toBe(200);
  await page.evaluate(async () => {
    const { avatar } = window as unknown as { avatar: { close(): Promise<void> } };
    await Promise.all([avatar.close(), avatar.close()]);
    await avatar.close();
  });
  // close() resolves once the DELETE is answered, and the server answered it: 200, not 404.
  expect(requests('DELETE', sessionUrl)).toEqual([
    expect.objectContaining({ method: 'DELETE', status: 200 }),
  ]);
  expect(await status(sessionUrl)).toBe(404);
  expect(await avatarProp(page, 'state')).toBe('closed');
});

test('closing a cross-origin tab sends the DELETE (keepalive, after a CORS preflight)', async ({
  page,
}) => {
  // The page on one origin, the server (behind the proxy) on another.
  const pages: Server = createServer((_req, res) =>
    res.setHeader('Content-Type', 'text/html').end(`<video></video><script type="module">
      const { createAvatar } = await import('${proxy.url}/__sdk.mjs');
      window.avatar = await createAvatar({
        url: '${proxy.url}/whep/avatars/default', video: document.querySelector('video') });
    </script>`),
  );
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  try {
    await page.goto(`http://localhost:${(pages.address() as { port: number }).port}/`);
    await page.waitForFunction(() => (window as unknown as { avatar?: unknown }).avatar, null, {
      timeout: 30_000,
    });
    const sessionUrl = await avatarProp(page, 'sessionUrl');
    expect(await status(sessionUrl)).toBe(200);
    await page.close({ runBeforeUnload: true });
    await expect.poll(() => requests('DELETE', sessionUrl).length, { timeout: 5000 }).toBe(1);
    expect(requests('OPTIONS', sessionUrl).length).toBeGreaterThanOrEqual(1);
    await expect.poll(() => requests('DELETE', sessionUrl)[0]?.status).toBe(200);
    expect(await status(sessionUrl)).toBe(404);
  } finally {
    pages.close();
  }
});
