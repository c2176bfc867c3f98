import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromiumArgs, executablePath } from '../support/chromium.js';
import { openDemo } from '../support/demo.js';
import { waitForLoop } from '../support/probe.js';
import { type ServerProcess, startServer } from '../support/server.js';
import { expect, test } from '../support/test.js';

// A voice stand-in: 1.5 s of tone, 1.5 s of silence, looped by Chromium's fake capture device.
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
const wav = `${artifacts}tone-silence.wav`;
mkdirSync(artifacts, { recursive: true });
execFileSync('ffmpeg', [
  '-hide_banner',
  '-loglevel',
  'error',
  '-y',
  '-f',
  'lavfi',
  '-i',
  "aevalsrc='0.5*sin(2*PI*440*t)*lt(mod(t\\,3)\\,1.5)':s=48000:d=12",
  wav,
]);

test.use({
  permissions: ['microphone'],
  launchOptions: {
    executablePath,
    args: [
      ...chromiumArgs,
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
    ],
  },
});

let server: ServerProcess;
test.beforeAll(async () => {
  server = await startServer();
});
test.afterAll(() => server.stop());

test('microphone mode: the voice level switches the avatar on and off', async ({ page }) => {
  await openDemo(page, server.url);
  await page.locator('#mic').click();
  await expect(page.locator('#mic')).toHaveAttribute('aria-pressed', 'true');
  await waitForLoop(page, 1);
  await waitForLoop(page, 0);
  await waitForLoop(page, 1);
});
