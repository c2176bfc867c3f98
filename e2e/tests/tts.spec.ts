import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitForLevel } from '../support/ear.js';
import { waitForLoop } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';
import { heard, openVoiceDemo } from '../support/voice.js';

/**
 * A server with text to speech. The "speech" is ffmpeg writing a second of tone whatever the text
 * (no speech synthesizer is installed here; the text goes to its stdin, which -nostdin ignores):
 * the test is about the demo and the route, not the voice.
 */
const config = fileURLToPath(new URL('../artifacts/tts-config.json', import.meta.url));

let server: ServerProcess;
test.beforeAll(async () => {
  const command = ['ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error'];
  command.push('-f', 'lavfi', '-i', 'sine=f=440:d=1', '-y', '{out}');
  writeFileSync(config, JSON.stringify({ tts: { command } }));
  server = await startServer(undefined, { args: ['--config', config] });
});
test.afterAll(() => server.stop());

test('the demo shows a text box when the server has text to speech; what is typed is said', async ({
  page,
}) => {
  await openVoiceDemo(page, server.url);
  await expect(page.locator('#say')).toBeVisible();
  await page.locator('#say-text').fill('Hello there');
  await page.locator('#say-button').click();
  await waitForLevel(page, true, 200);
  await waitForLoop(page, 1);
  await waitForLevel(page, false, 300);
  await waitForLoop(page, 0);
  await expect(page.locator('#say-text')).toHaveValue('');
  expect((await heard(page)).map((e) => e.name)).toEqual(['speechstart', 'speechend']);
});
