import { open } from 'node:fs/promises';
import { runFfmpeg } from './runFfmpeg.js';

/** Raw yuv420p frames of one clip, written once to a file so large clips need no RAM. */
export type DecodedFrames = {
  path: string;
  size: number;
  /** Frames in this view of the file: a loop may use only a span of its clip (its seam). */
  count: number;
  /** Index in the file of this view's frame 0. */
  first: number;
  frameBytes: number;
};

/** The frames start … end (inclusive) of a decoded clip, renumbered from 0. */
export function spanOf(frames: DecodedFrames, start: number, end: number): DecodedFrames {
  return { ...frames, first: frames.first + start, count: end - start + 1 };
}

export function yuv420FrameBytes(size: number): number {
  return size * size + 2 * (size / 2) * (size / 2);
}

/**
 * Decodes a clip to `size`×`size` yuv420p at `fps`: scaled to cover the square and centre-cropped
 * (the original system's recipe), frame rate converted, audio dropped.
 */
export async function decodeClip(opts: {
  ffmpegPath: string;
  input: string;
  output: string;
  size: number;
  fps: number;
  /** Frames decoded so far, from ffmpeg's `-progress` (about twice a second). */
  onFrames?: (frames: number) => void;
}): Promise<DecodedFrames> {
  const { size, fps } = opts;
  const filter = [
    `fps=${fps}`,
    `scale=${size}:${size}:force_original_aspect_ratio=increase:flags=lanczos`,
    `crop=${size}:${size}`,
    'setsar=1',
    'format=yuv420p',
  ].join(',');
  const args = ['-i', opts.input, '-an', '-sn', '-dn', '-vf', filter];
  args.push('-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-y', opts.output);
  const run = runFfmpeg(
    opts.ffmpegPath,
    args,
    `decoding ${opts.input}`,
    opts.onFrames ? { onFrames: opts.onFrames } : {},
  );
  run.end();
  await run.done;
  const frameBytes = yuv420FrameBytes(size);
  const handle = await open(opts.output, 'r');
  try {
    const { size: bytes } = await handle.stat();
    const count = Math.floor(bytes / frameBytes);
    if (count === 0) throw new Error(`${opts.input}: no video frames could be decoded`);
    return { path: opts.output, size, count, first: 0, frameBytes };
  } finally {
    await handle.close();
  }
}

/** Reads decoded frames by index, for feeding an encoder in any order. */
export async function openFrames(frames: DecodedFrames) {
  const handle = await open(frames.path, 'r');
  return {
    async read(index: number): Promise<Buffer> {
      const buffer = Buffer.allocUnsafe(frames.frameBytes);
      await handle.read(buffer, 0, frames.frameBytes, (frames.first + index) * frames.frameBytes);
      return buffer;
    },
    close: () => handle.close(),
  };
}
