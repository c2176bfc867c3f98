/** A presented frame: when its last packet arrived and when it was (to be) shown. */
export type Shown = { recv: number | undefined; shown: number };

/** Frames sent after a switch frame arrive at least one tick (40 ms at 25 fps) after it. */
const SAME_FRAME_MS = 20;
const RING = 8;

/**
 * Watches presented frames with requestVideoFrameCallback: the first frame (no black start) and
 * which frame carried a switch. Not liveness: a paused, hidden or off-screen video shows none.
 *
 * The switch frame is found without reading pixels: the server sends it at once and confirms right
 * after its packets, and the next frame leaves only at the next tick. So it is the last frame whose
 * packets arrived by the confirmation (`receiveTime`), and the latency is its display time − t0.
 */
export function watchFrames(video: HTMLVideoElement) {
  const ring: Shown[] = [];
  const waiters = new Set<(frame: Shown) => void>();
  let stopped = false;
  let handle = 0;

  const onFrame = (now: number, meta: VideoFrameCallbackMetadata) => {
    if (stopped) return;
    const frame = { recv: meta.receiveTime, shown: shownAt(now, meta) };
    ring.push(frame);
    if (ring.length > RING) ring.shift();
    for (const w of waiters) w(frame);
    handle = video.requestVideoFrameCallback(onFrame);
  };
  const supported = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  if (supported) handle = video.requestVideoFrameCallback(onFrame);

  return {
    /** Resolves on the next presented frame (or `loadeddata` without rVFC). */
    nextFrame(): Promise<void> {
      if (!supported) return loaded(video);
      return new Promise((r) => {
        const w = () => {
          waiters.delete(w);
          r();
        };
        waiters.add(w);
      });
    },
    /** Latency of a switch requested at `t0` and confirmed at `tc` (performance.now() times). */
    switchLatency(t0: number, tc: number): Promise<number | undefined> {
      let best = ring.filter((f) => carriesSwitch(f, t0, tc)).pop();
      return new Promise((resolve) => {
        const finish = () => {
          waiters.delete(w);
          clearTimeout(timer);
          resolve(best && best.shown - t0);
        };
        const w = (f: Shown) => {
          if (f.recv === undefined) {
            // No receiveTime (not WebRTC-aware): the first frame shown after the confirmation.
            if (f.shown >= tc) best ??= f;
            if (best) finish();
          } else if (f.recv > tc + SAME_FRAME_MS) finish();
          else if (carriesSwitch(f, t0, tc)) best = f;
        };
        waiters.add(w);
        const timer = setTimeout(finish, 1000);
      });
    },
    stop() {
      stopped = true;
      if (supported) video.cancelVideoFrameCallback(handle);
    },
  };
}

export type FrameWatcher = ReturnType<typeof watchFrames>;

/**
 * When a frame was on screen. `expectedDisplayTime` is the v-sync the compositor aimed at, on a
 * v-sync grid that does not account for decoding: Chromium reports it before `receiveTime` +
 * `processingDuration` at times (WICG/video-rvfc#93), and on loopback a switch frame arrives
 * about a millisecond after the request, so that grid once made a switch "shown" 0.3 ms before
 * it was asked for. A frame cannot be seen before it was received and decoded: that is the floor.
 */
export function shownAt(now: number, meta: Partial<VideoFrameCallbackMetadata>): number {
  const decoded = (meta.receiveTime ?? 0) + (meta.processingDuration ?? 0) * 1000;
  return Math.max(meta.expectedDisplayTime ?? now, decoded);
}

/** Whether a frame's packets arrived between a switch request (`t0`) and its confirmation (`tc`). */
export function carriesSwitch(f: Shown, t0: number, tc: number): boolean {
  return f.recv !== undefined && f.recv >= t0 && f.recv <= tc + SAME_FRAME_MS;
}

/** Resolves once the video has a frame to show (`loadeddata`), played or not. */
export function loaded(video: HTMLVideoElement): Promise<void> {
  return new Promise((r) =>
    video.readyState >= 2 ? r() : video.addEventListener('loadeddata', () => r(), { once: true }),
  );
}
