import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { installEar, toneWav, waitForLevel } from '../support/ear.js';
import { installProbe, waitForLoop } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

/**
 * A public WHEP player, not ours: Eyevinn's @eyevinn/webrtc-player (from the npm registry),
 * bundled for the page by esbuild. It offers audio and video as any WHEP player does; the test
 * checks that it gets both in one stream and that an utterance sent by a backend is heard, with
 * the face speaking.
 */
let server: ServerProcess;
let pages: Server;
let origin: string;
let html = '';
let player = '';
test.beforeAll(async () => {
  server = await startServer();
  const bundled = await build({
    stdin: {
      contents:
        "import { WebRTCPlayer } from '@eyevinn/webrtc-player'; window.WebRTCPlayer = WebRTCPlayer;",
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'error',
  });
  player = bundled.outputFiles[0]!.text;
  // Another origin than the server's: the player talks to it cross-origin (CORS), as in real use.
  pages = createServer((req, res) => {
    if (req.url === '/index.html') return res.setHeader('Content-Type', 'text/html').end(html);
    if (req.url === '/player.js')
      return res.setHeader('Content-Type', 'text/javascript').end(player);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  origin = `http://localhost:${(pages.address() as { port: number }).port}`;
});
test.afterAll(async () => {
  pages.close();
  await server.stop();
});

test("Eyevinn's WHEP player plays the avatar's video and voice", async ({ page }) => {
  const endpoint = `${server.url}/whep/avatars/default`;
  html = `<video autoplay muted playsinline style="width:512px;height:512px"></video>
    <script src="./player.js"></script><script>
    const player = new WebRTCPlayer({ video: document.querySelector('video'), type: 'whep' });
    window.loaded = player.load(new URL('${endpoint}')).then(() => 'loaded', (e) => String(e));
    </script>`;
  const created = page.waitForResponse(
    (r) => r.url() === endpoint && r.request().method() === 'POST',
  );
  await page.goto(`${origin}/index.html`);
  const answer = await created;
  expect(answer.status()).toBe(201);
  const sessionUrl = new URL(answer.headers().location!, endpoint).href;
  // The answer has an Opus track, in the same MediaStream as the video (one a=msid stream).
  const sdp = await answer.text();
  expect(sdp).toMatch(/^m=audio [1-9]/m);
  expect(sdp).toMatch(/^a=rtpmap:\d+ opus\/48000\/2/im);
  const streams = new Set([...sdp.matchAll(/^a=msid:(\S+)/gm)].map((m) => m[1]));
  expect(streams.size).toBe(1);

  await page.waitForFunction(() => {
    const video = document.querySelector('video')!;
    const stream = video.srcObject as MediaStream | null;
    return video.videoWidth > 0 && !video.paused && stream?.getAudioTracks().length === 1;
  });
  await page.evaluate('globalThis.__name ??= (f) => f');
  await installProbe(page);
  await installEar(page);
  await waitForLoop(page, 0);
  await waitForLevel(page, false, 300);

  // A backend says something to this session: the player hears it and shows the face speaking.
  const res = await fetch(`${sessionUrl}/audio`, {
    method: 'POST',
    headers: { 'Content-Type': 'audio/wav' },
    body: new Uint8Array(toneWav(1.5)),
  });
  expect(res.status).toBe(202);
  await waitForLevel(page, true, 200);
  await waitForLoop(page, 1);
  await waitForLevel(page, false, 300);
  await waitForLoop(page, 0);
});
