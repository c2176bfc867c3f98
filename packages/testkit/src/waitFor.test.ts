import { describe, expect, it } from 'vitest';
import { waitFor } from './waitFor.js';

describe('waitFor', () => {
  it('resolves with the first truthy value, as soon as the condition holds', async () => {
    let calls = 0;
    const value = await waitFor(() => ++calls >= 3 && 'ready', { intervalMs: 1 });
    expect(value).toBe('ready');
    expect(calls, 'checks made').toBe(3);
  });

  it('awaits an async condition', async () => {
    let n = 0;
    expect(await waitFor(async () => ++n === 2, { intervalMs: 1 })).toBe(true);
  });

  it('throws after the timeout, saying what it waited for', async () => {
    await expect(
      waitFor(() => false, { timeoutMs: 30, intervalMs: 5, what: 'the moon' }),
    ).rejects.toThrow('timed out after 30 ms waiting for the moon');
  });

  it('ends at once when the condition throws', async () => {
    const started = performance.now();
    await expect(
      waitFor(
        () => {
          throw new Error('the server exited');
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toThrow('the server exited');
    expect(performance.now() - started, 'ms before giving up').toBeLessThan(1000);
  });
});
