import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

const dist = new URL('../../packages/client-sdk/dist/', import.meta.url);
let server: ServerProcess;
/** Serves the plain pages and the bundles from another origin: the SDK talks to the server
 * cross-origin (CORS). A real server, as Chromium blocks requests from routed (addressless)
 * pages to loopback. */
let pages: Server;
let origin: string;
let html = '';
test.beforeAll(async () => {
  server = await startServer();
  pages = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    if (name === 'index.html') return res.setHeader('Content-Type', 'text/html').end(html);
    if (!/^avatar\.(mjs|iife\.js)$/.test(name)) return res.writeHead(404).end();
    res.setHeader('Content-Type', 'text/javascript').end(readFileSync(new URL(name, dist)));
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  origin = `http://localhost:${(pages.address() as { port: number }).port}`;
});
test.afterAll(async () => {
  pages.close();
  await server.stop();
});

const PAGES = {
  esm: (url: string) => `<video></video><script type="module">
    import { createAvatar } from './avatar.mjs';
    window.result = createAvatar({ url: '${url}', video: document.querySelector('video') })
      .then((a) => ({ state: a.state, width: a.video.videoWidth }), (e) => ({ error: e.message }));
  </script>`,
  iife: (url: string) => `<div id="box" style="width:256px;height:256px"></div>
    <script src="./avatar.iife.js"></script><script>
    window.result = AvatarServer.createAvatar({ url: '${url}', video: document.getElementById('box') })
      .then((a) => ({ state: a.state, width: a.video.videoWidth }), (e) => ({ error: e.message }));
  </script>`,
};

for (const [kind, makePage] of Object.entries(PAGES)) {
  test(`the built ${kind} bundle loads in a plain page and plays`, async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    html = makePage(`${server.url}/whep/avatars/default`);
    await page.goto(`${origin}/index.html`);
    await page
      .waitForFunction(() => (window as unknown as { result?: unknown }).result, null, {
        timeout: 30_000,
      })
      .catch((err) => {
        throw new Error(`${err.message}; page errors: ${errors.join('; ')}`);
      });
    const result = await page.evaluate(() => (window as unknown as { result: unknown }).result);
    expect(result).toEqual({ state: 'connected', width: 512 });
    expect(errors).toEqual([]);
  });
}
