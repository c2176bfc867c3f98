import type { Page } from '@playwright/test';
import { installProbe } from './probe.js';

/** The page's avatar, as the demo exposes it (`window.avatar`). */
export type PageAvatar = {
  state: string;
  speaking: boolean;
  sessionUrl: string;
  setSpeaking(on: boolean): Promise<unknown>;
  close(): Promise<void>;
};

/**
 * Opens the demo served by `serverUrl`, waits for its avatar to be connected, adds the probe.
 * Page errors, then and later, fail the test (support/test.ts).
 */
export async function openDemo(page: Page, serverUrl: string): Promise<void> {
  await page.goto(`${serverUrl}/`);
  // tsx (the bench) compiles with keepNames, which wraps functions passed to the page in __name().
  await page.evaluate('globalThis.__name ??= (f) => f');
  await page.waitForFunction(
    () => (window as unknown as { avatar?: PageAvatar }).avatar?.state === 'connected',
    null,
    { timeout: 30_000 },
  );
  await installProbe(page);
}

/** Reads a property of the page's avatar. */
export function avatarProp<K extends 'state' | 'speaking' | 'sessionUrl'>(
  page: Page,
  key: K,
): Promise<PageAvatar[K]> {
  return page.evaluate(
    (k) => (window as unknown as { avatar: PageAvatar }).avatar[k as K],
    key as string,
  ) as Promise<PageAvatar[K]>;
}
