import { makeAudio, SOUND, toneWav, waitForLevel } from '../support/ear.js';
import { type ProbeFrame, probeFrames, waitForLoop } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';
import {
  allLevels,
  heard,
  openVoiceDemo,
  speakInPage,
  spoken,
  type VoiceWindow,
} from '../support/voice.js';

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

/** The loops shown between two page times (0 idle, 1 speaking). */
const loopsBetween = (frames: ProbeFrame[], from: number, to: number) =>
  new Set(frames.filter((f) => f.shown >= from && f.shown <= to).map((f) => f.loop));

test('a clip is heard only while it plays, the face speaks during it and is idle after; events in order', async ({
  page,
}) => {
  await openVoiceDemo(page, server.url);
  // Silence before anything is said (the track exists, nothing is sent).
  await waitForLevel(page, false, 300);
  const t0 = await speakInPage(page, toneWav(1.5));
  const result = await spoken(page);
  expect(result.interrupted).toBe(false);
  const events = await heard(page);
  expect(events.map((e) => e.name)).toEqual(['speechstart', 'speechend']);
  expect(events.every((e) => e.id === result.id)).toBe(true);
  const [start, end] = [events[0]!.t, events[1]!.t];
  // After the end: silence, and the idle loop (after the server's silence hangover).
  await waitForLevel(page, false, 300);
  await waitForLoop(page, 0);
  const levels = await allLevels(page);
  const loud = levels.filter((l) => l.rms > SOUND);
  expect(loud.length, 'blocks heard above silence').toBeGreaterThan(100);
  // Sound only after the request, and only about as long as the clip (1.5 s; generous, as a loaded
  // machine stretches it: the receiver conceals late packets), and silence at the end.
  const first = loud[0]!.t;
  const last = loud.at(-1)!.t;
  expect(first).toBeGreaterThan(t0);
  expect(last - first).toBeGreaterThan(1200);
  expect(last - first).toBeLessThan(4000);
  expect(last).toBeLessThan(end + 1000);
  // Inside the utterance the level stays up, but for concealed late packets.
  const inside = levels.filter((l) => l.t >= first && l.t <= last);
  // The events belong to the sound heard (their exact times are the benchmark's: under load the
  // server's speechstart has arrived up to ~1 s after the first sound, while speechend is timely).
  expect(start).toBeLessThan(last);
  expect(end).toBeGreaterThan(first);
  expect(loud.length / inside.length, 'share of the clip heard as sound').toBeGreaterThan(0.8);

  // The face: speaking while the clip is heard, idle before it and well after it.
  const frames = await probeFrames(page);
  expect(loopsBetween(frames, first + 200, last - 200)).toEqual(new Set([1]));
  expect(loopsBetween(frames, t0 - 500, t0)).toEqual(new Set([0]));
  expect(frames.at(-1)!.loop).toBe(0);
});

test('interrupt() stops the voice and the face at once; speak() says it was interrupted', async ({
  page,
}) => {
  await openVoiceDemo(page, server.url);
  await speakInPage(page, toneWav(8));
  await waitForLevel(page, true, 200);
  await waitForLoop(page, 1);
  const t = await page.evaluate(async () => {
    const t0 = performance.now();
    await (window as VoiceWindow).avatar.interrupt();
    return t0;
  });
  const result = await spoken(page);
  expect(result.interrupted).toBe(true);
  const silentSince = await waitForLevel(page, false, 200);
  await waitForLoop(page, 0);
  const events = await heard(page);
  expect(events.map((e) => [e.name, e.interrupted])).toEqual([
    ['speechstart', false],
    ['speechend', true],
  ]);
  // Generous (the goal, ≤ 60 ms, is measured by bench/browser.ts): far less than the 8 s clip.
  const levels = await allLevels(page);
  const lastLoud = levels.filter((l) => l.rms > SOUND).at(-1)!.t;
  expect(lastLoud - t, 'interrupt → last sound, ms').toBeLessThan(1000);
  expect(silentSince).toBeGreaterThan(t - 300);
  // The SDK silenced the received track at once; it plays the next utterance.
  await speakInPage(page, toneWav(1));
  await waitForLevel(page, true, 200);
  expect((await spoken(page)).interrupted).toBe(false);
});

test('a PCM stream is said over the data channel, as it arrives', async ({ page }) => {
  await openVoiceDemo(page, server.url);
  const pcm = makeAudio('0.5*sin(2*PI*330*t)', 1.2, 24_000);
  await speakInPage(page, pcm, 24_000);
  const result = await spoken(page);
  expect(result.interrupted).toBe(false);
  expect((await heard(page)).map((e) => e.name)).toEqual(['speechstart', 'speechend']);
  const loud = (await allLevels(page)).filter((l) => l.rms > SOUND);
  expect(loud.at(-1)!.t - loud[0]!.t).toBeGreaterThan(900);
});

test('unmute() turns the sound on where the browser allows it', async ({ page }) => {
  await openVoiceDemo(page, server.url, false);
  expect(await page.evaluate(() => (window as VoiceWindow).avatar.muted)).toBe(true);
  await page.evaluate(() => (window as VoiceWindow).avatar.unmute());
  expect(await page.evaluate(() => (window as VoiceWindow).avatar.muted)).toBe(false);
  expect(await page.evaluate(() => document.querySelector('video')!.paused)).toBe(false);
});

test('the demo: a picked audio file is said, "Stop talking" cuts it; no text box without text to speech', async ({
  page,
}) => {
  await openVoiceDemo(page, server.url);
  await expect(page.locator('#say')).toBeHidden();
  await page
    .locator('#pick')
    .setInputFiles({ name: 'tone.wav', mimeType: 'audio/wav', buffer: toneWav(6) });
  await waitForLevel(page, true, 200);
  await waitForLoop(page, 1);
  await expect(page.locator('#voice-status')).toHaveText('Talking…');
  await page.locator('#stop').click();
  await waitForLevel(page, false, 200);
  await waitForLoop(page, 0);
  await expect(page.locator('#voice-status')).toHaveText('Stopped');
  await expect(page.locator('#stop')).toBeDisabled();
  // "Sound on" unmutes the video (a click is a gesture), and turns into "Sound off".
  await page.locator('#unmute').click();
  await expect(page.locator('#unmute')).toHaveAttribute('aria-pressed', 'true');
  expect(await page.evaluate(() => (window as VoiceWindow).avatar.muted)).toBe(false);
});
