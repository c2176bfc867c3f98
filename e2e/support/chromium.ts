import { existsSync } from 'node:fs';

/** Debian's chromium when installed (CI installs it), else Playwright's own browser. */
export const executablePath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;

/** Flags for a quiet, headless, GPU-less Chromium that plays video without a user gesture. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];
