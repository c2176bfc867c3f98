import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';
import { openVoiceDemo, type VoiceWindow } from '../support/voice.js';

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

test('a blocked unmute is reported (as Safari blocks it), the video keeps playing muted, and a click unmutes', async ({
  page,
}) => {
  // Chromium's own policy cannot be the test: Playwright's evaluate() runs as a user gesture. So
  // the page gets the answer of a browser that wants a gesture for sound (Safari, a Chromium with
  // a low engagement score): play() with sound before a real (trusted) pointer press is refused.
  await page.addInitScript(() => {
    let gesture = false;
    addEventListener('pointerdown', (e) => (gesture ||= e.isTrusted), { capture: true });
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function () {
      if (!this.muted && !gesture)
        return Promise.reject(new DOMException('sound needs a gesture', 'NotAllowedError'));
      return play.call(this);
    };
  });
  await openVoiceDemo(page, server.url, false);
  const outcome = await page.evaluate(() =>
    (window as VoiceWindow).avatar.unmute().then(
      () => 'unmuted',
      (e: Error) => e.name,
    ),
  );
  expect(outcome).toBe('NotAllowedError');
  const state = await page.evaluate(() => ({
    muted: (window as VoiceWindow).avatar.muted,
    paused: document.querySelector('video')!.paused,
    events: (window as VoiceWindow).heard.map((e) => e.name),
  }));
  expect(state).toEqual({ muted: true, paused: false, events: ['autoplayblocked'] });
  // The SDK tries again on the page's next gesture.
  await page.mouse.click(5, 5);
  await expect.poll(() => page.evaluate(() => (window as VoiceWindow).avatar.muted)).toBe(false);
  expect(await page.evaluate(() => document.querySelector('video')!.paused)).toBe(false);
});
