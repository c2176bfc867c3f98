/**
 * A one-shot alarm that fires when `heard()` has not been called for `timeoutMs`: a viewer whose
 * tab was killed or whose network vanished stops sending RTCP at once, while werift itself only
 * notices when ICE consent fails after ~30 s (docs/werift.md, Liveness). One timer, re-armed with
 * `refresh()` on each sign of life, so a report costs no allocation.
 */
export type SilenceWatch = { heard(): void; stop(): void };

export function watchSilence(timeoutMs: number, onSilent: () => void): SilenceWatch {
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
    onSilent();
  }, timeoutMs);
  timer.unref();
  return {
    heard() {
      if (!stopped) timer.refresh();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
