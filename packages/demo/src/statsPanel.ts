import type { Avatar } from '@avatar-server/client-sdk';

const ms = (v: number | undefined) => (v === undefined ? '–' : `${Math.round(v)} ms`);

/** Refreshes the stats panel from `avatar.getStats()` twice a second; returns a stop function. */
export function showStats(avatar: Avatar): () => void {
  const set = (id: string, text: string) => {
    document.getElementById(id)!.textContent = text;
  };
  const update = async () => {
    const s = await avatar.getStats();
    set('s-state', s.state);
    set('s-fps', s.framesPerSecond === undefined ? '–' : `${Math.round(s.framesPerSecond)} fps`);
    set('s-ttff', ms(s.timeToFirstFrameMs));
    set('s-last', ms(s.switchLatency.last));
    set('s-p50', ms(s.switchLatency.p50));
    set('s-p95', ms(s.switchLatency.p95));
  };
  void update();
  const timer = setInterval(update, 500);
  return () => clearInterval(timer);
}
