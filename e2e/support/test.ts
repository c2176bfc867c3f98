import { test as base, expect } from '@playwright/test';

/**
 * Playwright's test, failing any test whose page threw or left a promise rejection unhandled at
 * any time (the SDK's background work included), not just before the avatar connected.
 */
export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await use(errors);
      expect(errors, 'uncaught errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
