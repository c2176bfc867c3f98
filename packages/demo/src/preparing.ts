import type { AvatarWait } from '@avatar-server/client-sdk';

/** How often the page asks `GET /avatars/:id` for the compile's progress while it waits. */
const POLL_MS = 1000;

/** "Preparing the avatar… 42 %" while it compiles, else why the server asked to wait. */
export function preparingText(wait: AvatarWait, progress = wait.progress): string {
  const compiling =
    progress !== undefined || /avatar_not_ready$/.test(wait.error.problem?.type ?? '');
  if (!compiling) return `Server busy, retrying in ${Math.ceil(wait.retryInMs / 1000)} s…`;
  if (progress === undefined) return 'Preparing the avatar…';
  const eta = wait.etaSeconds === undefined ? '' : ` (about ${Math.ceil(wait.etaSeconds)} s left)`;
  return `Preparing the avatar… ${Math.floor(progress * 100)} %${eta}`;
}

/**
 * Shows the wait the SDK reports (`waiting`) in the overlay and the badge. Between the SDK's
 * retries (every few seconds) it follows the compile at `GET /avatars/:id` (`progress`, 0–1), so
 * the percentage moves every second; a server without that field leaves the SDK's figure.
 */
export function showPreparing(id: string, text: HTMLElement, badge: HTMLElement) {
  let last: AvatarWait | undefined;
  let best: number | undefined; // the two sources answer at different moments: never go back
  let timer: ReturnType<typeof setInterval> | undefined;
  const render = (progress = last?.progress) => {
    if (!last) return;
    if (progress !== undefined) best = Math.max(best ?? 0, progress);
    text.textContent = preparingText(last, best);
    badge.textContent = text.textContent.startsWith('Preparing') ? 'Preparing' : 'Waiting';
  };
  const poll = async () => {
    const res = await fetch(`/avatars/${encodeURIComponent(id)}`).catch(() => undefined);
    const body = res?.ok ? ((await res.json().catch(() => ({}))) as { progress?: unknown }) : {};
    if (typeof body.progress === 'number') render(body.progress);
  };
  return {
    update(wait: AvatarWait) {
      last = wait;
      render();
      timer ??= setInterval(() => void poll(), POLL_MS);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
