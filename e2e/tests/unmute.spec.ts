import { chromiumArgs, executablePath } from '../support/chromium.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';
import { openVoiceDemo, type VoiceWindow } from '../support/voice.js';

// A browser that wants a gesture before it plays sound (muted autoplay is still allowed).
test.use({
  launchOptions: {
    executablePath,
    args: [
      ...chromiumArgs.filter((a) => !a.startsWith('--autoplay-policy')),
      '--autoplay-policy=user-gesture-required',
    ],
  },
});

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

test('a blocked unmute is reported, the video keeps playing muted, and a click unmutes', async ({
  page,
}) => {
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
