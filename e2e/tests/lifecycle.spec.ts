import { mintToken } from '@avatar-server/server';
import type { Page } from '@playwright/test';
import { type RecordingProxy, startProxy } from '../support/proxy.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

/**
 * The SDK's lifecycle as a page sees it: the events of a restart, a kill, an expired token and a
 * refused autoplay, on a page that only uses the SDK (served by the proxy as /__sdk.mjs).
 */

let server: ServerProcess;
let proxy: RecordingProxy;
test.afterEach(async () => {
  await proxy?.close();
  await server?.stop();
});

async function start(env?: Record<string, string>) {
  server = await startServer(undefined, env ? { env } : {});
  proxy = await startProxy(server.url);
  proxy.pages.set('sdk.html', SDK_PAGE);
}

const SDK_PAGE = `<video style="width:256px;height:256px"></video>
  <script type="module">window.sdk = await import('/__sdk.mjs');</script>`;

/** Options createAvatar gets in the page; `token: 'mint'` asks the test for a fresh token each time. */
type PageOptions = { maxReconnectMs?: number; token?: 'mint' };

/**
 * Opens the page and creates `window.avatar`, logging every lifecycle event in `window.log`
 * (`reconnecting:<attempt>`, `error:<reason>:<final>`, `disconnected:<reason>`, `state:<s>`…).
 */
async function open(page: Page, options: PageOptions = {}) {
  await page.goto(`${proxy.url}/sdk.html`);
  await page.waitForFunction(() => 'sdk' in window);
  return page.evaluate(async (o) => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const w = window as any;
    const log: string[] = [];
    w.log = log;
    const on = {
      statechange: (s: string) => log.push(`state:${s}`),
      reconnecting: (a: { attempt: number; delayMs: number }) =>
        log.push(`reconnecting:${a.attempt}:${a.delayMs >= 0}`),
      reconnected: () => log.push('reconnected'),
      disconnected: (e: { reason: string }) => log.push(`disconnected:${e.reason}`),
      error: (e: { reason: string }, final: boolean) => log.push(`error:${e.reason}:${final}`),
      autoplayblocked: () => log.push('autoplayblocked'),
    };
    w.avatar = await w.sdk.createAvatar({
      url: '/whep/avatars/default',
      video: document.querySelector('video'),
      on,
      ...(o.maxReconnectMs !== undefined ? { maxReconnectMs: o.maxReconnectMs } : {}),
      ...(o.token === 'mint' ? { token: () => w.mint() } : {}),
    });
    // From here on: what happens after createAvatar resolved.
    log.length = 0;
    return w.avatar.sessionUrl as string;
  }, options);
}

const log = (page: Page) => page.evaluate(() => (window as unknown as { log: string[] }).log);
const state = (page: Page) =>
  page.evaluate(() => (window as unknown as { avatar: { state: string } }).avatar.state);

test('a server restart: reconnecting (attempt, delay), then reconnected; errors say they are not final; on() unsubscribes, once() fires once', async ({
  page,
}) => {
  await start();
  await open(page);
  await page.evaluate(() => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const w = window as any;
    w.counts = { removed: 0, once: 0 };
    const off = w.avatar.on('statechange', () => w.counts.removed++);
    off();
    w.avatar.once('statechange', () => w.counts.once++);
  });
  await server.stop();
  await expect.poll(() => state(page), { timeout: 20_000 }).toBe('reconnecting');
  server = await startServer(server.port);
  await expect.poll(() => log(page), { timeout: 30_000 }).toContain('reconnected');
  const events = await log(page);
  expect(events[0]).toBe('state:reconnecting');
  expect(events[1]).toBe('reconnecting:1:true');
  expect(events.slice(-2)).toEqual(['state:connected', 'reconnected']);
  // Attempts are numbered in order, and every failed one was reported as not final.
  const attempts = events.filter((e) => e.startsWith('reconnecting:')).map((e) => e.split(':')[1]);
  expect(attempts).toEqual(attempts.map((_, i) => String(i + 1)));
  expect(events.filter((e) => e.startsWith('error:') && !e.endsWith(':false'))).toEqual([]);
  expect(events.filter((e) => e.startsWith('disconnected'))).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { counts: unknown }).counts)).toEqual({
    removed: 0,
    once: 1,
  });
});

test('a killed server that stays away: maxReconnectMs ends in one final error and disconnected (timeout); the waiting setSpeaking rejects; the final stats stay', async ({
  page,
}) => {
  await start();
  await open(page, { maxReconnectMs: 3000 });
  await expect
    .poll(() =>
      page.evaluate(
        async () =>
          (
            await (
              window as unknown as { avatar: { getStats(): Promise<{ framesDecoded: number }> } }
            ).avatar.getStats()
          ).framesDecoded,
      ),
    )
    .toBeGreaterThan(5);
  await server.kill();
  await expect.poll(() => state(page), { timeout: 20_000 }).toBe('reconnecting');
  // Three calls while there is no session: one pending wish, the latest; all settle on close.
  await page.evaluate(() => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const w = window as any;
    w.outcomes = [];
    for (const on of [true, false, true])
      w.avatar.setSpeaking(on).then(
        () => w.outcomes.push('resolved'),
        (e: { reason: string }) => w.outcomes.push(e.reason),
      );
  });
  await expect.poll(() => state(page), { timeout: 30_000 }).toBe('closed');
  const events = await log(page);
  expect(events.slice(-3)).toEqual(['state:closed', 'error:timeout:true', 'disconnected:timeout']);
  expect(events.filter((e) => /^error:.*:true$/.test(e))).toEqual(['error:timeout:true']);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { outcomes: string[] }).outcomes))
    .toEqual(['timeout', 'timeout', 'timeout']);
  const after = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const a = (window as any).avatar;
    const stats = await a.getStats();
    return { state: stats.state, frames: stats.framesDecoded, src: a.video.srcObject };
  });
  // The last figures of the lost connection, and the caller's <video> let go.
  expect(after.state).toBe('closed');
  expect(after.frames).toBeGreaterThan(0);
  expect(after.src).toBeNull();
});

test('an expired token: a token function gives each reconnect a fresh one; the session is deleted with the token that created it', async ({
  page,
}) => {
  const secret = 'e2e-token-secret-0123456789-abcdefghij';
  await start({ AVATAR_TOKEN_SECRET: secret });
  const minted: number[] = [];
  // Tokens that live 2 s: the session's has expired by the time the server restarts.
  await page.exposeFunction('mint', () => {
    minted.push(Date.now());
    return mintToken(secret, { ttlSeconds: 2 });
  });
  // WHEP POSTs as the proxy saw them: each asks the token function once (a POST retried after a
  // 503 or 429, or a session replaced while createAvatar waits for its first frame, asks again).
  const posts = () => proxy.seen.filter((s) => s.method === 'POST' && s.path.startsWith('/whep/'));
  const createdSessions = () => posts().filter((s) => s.status === 201);
  await open(page, { token: 'mint' });
  expect(minted.length).toBe(posts().length);
  const createdBefore = createdSessions().length;
  expect(createdBefore).toBeGreaterThanOrEqual(1);
  const sessionMinted = minted.at(-1)!;
  await server.stop();
  await expect.poll(() => state(page), { timeout: 20_000 }).toBe('reconnecting');
  // Well past that token's expiry (whole seconds, so up to 2 s from minting).
  await expect.poll(() => Date.now() - sessionMinted).toBeGreaterThan(3000);
  server = await startServer(server.port, { env: { AVATAR_TOKEN_SECRET: secret } });
  await expect.poll(() => log(page), { timeout: 30_000 }).toContain('reconnected');
  const created = createdSessions();
  expect(created.length).toBeGreaterThan(createdBefore);
  expect(minted.length).toBe(posts().length);
  expect((await log(page)).filter((e) => e.startsWith('error:unauthorized'))).toEqual([]);
  // The session obeys its creator: speaking works, and close() deletes it.
  const result = await page.evaluate(() =>
    (
      window as unknown as { avatar: { setSpeaking(on: boolean): Promise<{ speaking: boolean }> } }
    ).avatar.setSpeaking(true),
  );
  expect(result.speaking).toBe(true);
  await expect.poll(() => Date.now() - minted.at(-1)!).toBeGreaterThan(3000);
  await page.evaluate(() =>
    (window as unknown as { avatar: { close(): Promise<void> } }).avatar.close(),
  );
  const location = created.at(-1)!.location!;
  const deleted = proxy.seen.filter((s) => s.method === 'DELETE' && location.endsWith(s.path));
  // Answered 2xx: the expired token that created the session still ends it (a new one could not).
  expect(deleted.map((s) => s.status! >= 200 && s.status! < 300)).toEqual([true]);
});

test('a refused autoplay: autoplayblocked (not an error), and avatar.play() from a gesture plays', async ({
  page,
}) => {
  await start();
  await page.addInitScript(() => {
    // No `autoplay` attribute either: the video stays paused until the page plays it.
    Object.defineProperty(HTMLMediaElement.prototype, 'autoplay', { set() {}, get: () => false });
    const play = HTMLMediaElement.prototype.play;
    let refused = false;
    HTMLMediaElement.prototype.play = function () {
      if (refused) return play.call(this);
      refused = true;
      return Promise.reject(new DOMException('needs a gesture', 'NotAllowedError'));
    };
  });
  await open(page);
  await expect.poll(() => log(page)).toEqual(['autoplayblocked']);
  expect(await page.evaluate(() => document.querySelector('video')!.paused)).toBe(true);
  await page.evaluate(() => {
    const button = document.body.appendChild(document.createElement('button'));
    button.textContent = 'Tap to play';
    button.onclick = () =>
      void (window as unknown as { avatar: { play(): Promise<void> } }).avatar.play();
  });
  await page.getByRole('button', { name: 'Tap to play' }).click();
  await expect.poll(() => page.evaluate(() => document.querySelector('video')!.paused)).toBe(false);
  expect(await log(page)).toEqual(['autoplayblocked']);
});

test('a hidden page whose video presents no frames still connects, on the first frame received', async ({
  page,
}) => {
  await start();
  // As a background tab: hidden, and requestVideoFrameCallback never calls back.
  await page.addInitScript(() => {
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => 'hidden' });
    HTMLVideoElement.prototype.requestVideoFrameCallback = () => 0;
  });
  await open(page);
  expect(await state(page)).toBe('connected');
});

test('wrong options throw an AvatarError with a reason and a message naming the option', async ({
  page,
}) => {
  await start();
  await page.goto(`${proxy.url}/sdk.html`);
  await page.waitForFunction(() => 'sdk' in window);
  const errors = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const { createAvatar } = (window as any).sdk;
    const video = document.querySelector('video');
    const attempts = [
      { url: '/whep/avatars/default', video: null },
      { url: 42, video },
      { url: '/whep/avatars/default', video, maxReconnectMs: -1 },
      { url: '/whep/avatars/default', video, token: 7 },
    ];
    const out: string[] = [];
    for (const o of attempts) {
      await createAvatar(o).then(
        () => out.push('resolved'),
        (e: Error & { reason: string }) => out.push(`${e.name}:${e.reason}:${e.message}`),
      );
    }
    return out;
  });
  expect(errors).toEqual([
    expect.stringMatching(/^AvatarError:invalid-options:`video`.*null/),
    expect.stringMatching(/^AvatarError:invalid-options:`url`/),
    expect.stringMatching(/^AvatarError:invalid-options:`maxReconnectMs`/),
    expect.stringMatching(/^AvatarError:invalid-options:`token`/),
  ]);
});
