import type { CDPSession, Page } from '@playwright/test';
import { type RecordingProxy, startProxy } from '../support/proxy.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

/**
 * close() leaves nothing behind: after 100 avatars created and closed on one page (each with a
 * caller's long-lived AbortSignal and an attached audio stream), the page's listeners, peer
 * connections, audio contexts, elements and heap are back where they were.
 */

let server: ServerProcess;
let proxy: RecordingProxy;
test.beforeAll(async () => {
  // 100 sessions in a row from one address: the per-address session limit would make them wait.
  server = await startServer(undefined, { env: { AVATAR_SESSION_RATE_LIMIT_PER_MINUTE: '0' } });
  proxy = await startProxy(server.url);
  proxy.pages.set(
    'many.html',
    `<div id="box" style="width:128px;height:128px"></div>
     <script type="module">window.sdk = await import('/__sdk.mjs');</script>`,
  );
});
test.afterAll(async () => {
  await proxy.close();
  await server.stop();
});

/** What a closed avatar could leave behind, counted after a garbage collection. */
async function leftovers(page: Page, cdp: CDPSession) {
  await cdp.send('HeapProfiler.collectGarbage');
  const listeners = async (expression: string) => {
    const { result } = await cdp.send('Runtime.evaluate', { expression });
    const { listeners } = await cdp.send('DOMDebugger.getEventListeners', {
      objectId: result.objectId!,
    });
    return listeners.length;
  };
  const counts = await page.evaluate(() => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const w = window as any;
    return {
      peerConnections: (w.pcs as WeakRef<object>[]).filter((r) => r.deref()).length,
      openAudioContexts: (w.contexts as AudioContext[]).filter((c) => c.state !== 'closed').length,
      videos: document.querySelectorAll('video').length,
    };
  });
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return {
    ...counts,
    windowListeners: await listeners('window'),
    signalListeners: await listeners('window.signal'),
    heap: usedSize,
  };
}

test('100 avatars created and closed leave no listeners, peer connections, audio contexts or heap behind', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.addInitScript(() => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's globals
    const w = window as any;
    w.pcs = [];
    w.contexts = [];
    const PC = RTCPeerConnection;
    w.RTCPeerConnection = class extends PC {
      constructor(config?: RTCConfiguration) {
        super(config);
        w.pcs.push(new WeakRef(this));
      }
    };
    const AC = AudioContext;
    w.AudioContext = class extends AC {
      constructor(options?: AudioContextOptions) {
        super(options);
        w.contexts.push(this);
      }
    };
  });
  await page.goto(`${proxy.url}/many.html`);
  await page.waitForFunction(() => 'sdk' in window);
  const cdp = await page.context().newCDPSession(page);
  const cycle = (n: number) =>
    page.evaluate(async (count) => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's globals
      const w = window as any;
      w.signal ??= new AbortController().signal;
      for (let i = 0; i < count; i++) {
        const avatar = await w.sdk.createAvatar({
          url: '/whep/avatars/default',
          video: document.getElementById('box'),
          signal: w.signal,
        });
        // A silent stream: the SDK's audio context opens for it and must close with it.
        avatar.attachAudio(new MediaStream());
        await avatar.close();
      }
      return w.contexts.length;
    }, n);
  // One round first: lazily created browser internals are not a leak.
  await cycle(1);
  const before = await leftovers(page, cdp);
  const contexts = await cycle(100);
  // Closed peers are released once the garbage collector runs: poll, collecting each time.
  await expect
    .poll(async () => (await leftovers(page, cdp)).peerConnections, { timeout: 30_000 })
    .toBe(0);
  const after = await leftovers(page, cdp);
  console.log(`100 avatars: heap ${before.heap} → ${after.heap} bytes, ${contexts} audio contexts`);
  expect(contexts).toBeGreaterThanOrEqual(101);
  expect({ ...after, heap: 0 }).toEqual({ ...before, heap: 0, peerConnections: 0 });
  expect(after.openAudioContexts).toBe(0);
  expect(after.videos).toBe(0);
  // A leaked avatar keeps its closures, video and stream objects: 100 of them would show.
  expect(after.heap - before.heap).toBeLessThan(1024 * 1024);
  // Every session was deleted on the server, each once.
  const created = proxy.seen.filter((r) => r.method === 'POST' && r.status === 201).length;
  const deleted = proxy.seen.filter(
    (r) => r.method === 'DELETE' && r.status! >= 200 && r.status! < 300,
  ).length;
  expect(created).toBe(101);
  expect(deleted).toBe(101);
});
