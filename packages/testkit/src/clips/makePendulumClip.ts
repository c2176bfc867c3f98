/**
 * Clips with known motion for the loop analysis: a bright disk swinging like a pendulum,
 * x(t) = centre + A·sin(2π(t + phase)/period). Where such a clip loops best, and which frame of
 * one clip follows a frame of another most naturally, is known by construction.
 */
import { Readable } from 'node:stream';
import { defaultFfmpeg, runFfmpeg } from './runFfmpeg.js';

export type PendulumOptions = {
  path: string;
  frames: number;
  /** Frames per swing. */
  period: number;
  /** Frames the swing is ahead of a clip with phase 0. */
  phase?: number;
  size?: number;
  ffmpegPath?: string;
};

/** The disk's centre in frame t. */
export function pendulumX(t: number, period: number, phase: number, size: number): number {
  return size / 2 + 0.3 * size * Math.sin((2 * Math.PI * (t + phase)) / period);
}

function render(t: number, o: Required<Omit<PendulumOptions, 'path' | 'ffmpegPath'>>): Buffer {
  const { size } = o;
  const frame = Buffer.alloc((size * size * 3) / 2, 128);
  const cx = pendulumX(t, o.period, o.phase, size);
  const cy = size / 2;
  const r = size / 8;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - cx, y - cy) - r;
      // Anti-aliased edge: 1 px ramp from the disk (235) to the background (40).
      const cover = Math.min(1, Math.max(0, 0.5 - d));
      frame[y * size + x] = Math.round(40 + 195 * cover);
    }
  }
  return frame;
}

export async function makePendulumClip(opts: PendulumOptions): Promise<void> {
  const o = {
    frames: opts.frames,
    period: opts.period,
    phase: opts.phase ?? 0,
    size: opts.size ?? 128,
  };
  function* frames(): Generator<Buffer> {
    for (let t = 0; t < o.frames; t++) yield render(t, o);
  }
  await runFfmpeg(
    opts.ffmpegPath ?? defaultFfmpeg(),
    [
      ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${o.size}x${o.size}`, '-r', '25'],
      ...['-i', 'pipe:0', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18'],
      ...['-pix_fmt', 'yuv420p', '-y', opts.path],
    ],
    Readable.from(frames()),
  );
}
