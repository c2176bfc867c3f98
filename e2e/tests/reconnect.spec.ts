import { expect, test } from '@playwright/test';
import { avatarProp, openDemo } from '../support/demo.js';
import { probeFrames, probeSwitch } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';

let server: ServerProcess;
test.afterAll(() => server?.stop());

test('the SDK reconnects by itself after a server restart and keeps speaking', async ({ page }) => {
  server = await startServer();
  await openDemo(page, server.url);
  await page.evaluate(() => {
    const w = window as unknown as {
      avatar: { on(e: string, f: (s: string) => void): void };
      states: string[];
    };
    w.states = [];
    w.avatar.on('statechange', (s) => w.states.push(s));
  });
  await probeSwitch(page, true);
  const oldSession = await avatarProp(page, 'sessionUrl');

  await server.stop();
  await expect.poll(() => avatarProp(page, 'state'), { timeout: 20_000 }).toBe('reconnecting');
  server = await startServer(server.port);
  await expect.poll(() => avatarProp(page, 'state'), { timeout: 30_000 }).toBe('connected');

  const states = await page.evaluate(() => (window as unknown as { states: string[] }).states);
  expect(states).toEqual(['reconnecting', 'connected']);
  expect(await avatarProp(page, 'speaking')).toBe(true);
  const newSession = await avatarProp(page, 'sessionUrl');
  expect(newSession).not.toBe(oldSession);
  const session = (await fetch(newSession).then((r) => r.json())) as { speaking: boolean };
  expect(session.speaking).toBe(true);

  // New frames arrive, and they are the speaking loop's.
  const before = (await probeFrames(page)).length;
  await page.waitForFunction(
    (n) => (window as unknown as { probe: { frames: unknown[] } }).probe.frames.length >= n + 25,
    before,
  );
  const after = (await probeFrames(page)).slice(-20);
  expect(after.every((f) => f.loop === 1)).toBe(true);
});
