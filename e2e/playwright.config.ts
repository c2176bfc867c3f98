import { defineConfig } from '@playwright/test';
import { chromiumArgs, executablePath } from './support/chromium.js';

/** Real Chromium against the real server (built by `npm run build`) on 512 px marker clips. */
export default defineConfig({
  testDir: 'tests',
  outputDir: 'artifacts/results',
  globalSetup: './support/globalSetup.ts',
  // One browser at a time: the machine has two cores and each test measures timing.
  workers: 1,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1000, height: 900 },
    launchOptions: { executablePath, args: chromiumArgs },
    trace: 'retain-on-failure',
  },
});
