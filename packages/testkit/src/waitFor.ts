export type WaitOptions = {
  /** Give up after this long (generous: the machines running the tests are shared and slow). */
  timeoutMs?: number;
  /** Time between two checks. */
  intervalMs?: number;
  /** What is awaited, for the error message ("the session to end"). */
  what?: string;
};

/**
 * Resolves with the first truthy value `condition` returns, checking every `intervalMs`; throws
 * after `timeoutMs` saying what it waited for. Tests synchronise on the condition itself, never on
 * a fixed sleep: on a loaded machine a sleep is too short (a flaky test) or too long (a slow one).
 * An error thrown by `condition` ends the wait at once (e.g. "the server exited").
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 20, what = 'the condition' }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
