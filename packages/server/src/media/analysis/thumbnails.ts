import type { DecodedFrames } from '../decodeClip.js';
import { openFrames } from '../decodeClip.js';

/** Side of the grey thumbnails the analysis compares (Video Textures works on small images). */
export const THUMB = 64;

/**
 * Small grey thumbnails of every decoded frame: the luma plane averaged over blocks (an area
 * filter), as floats. 64×64 keeps 4096 values a frame: enough to see a mouth or a blink, small
 * enough to compare every pair of frames in well under a second.
 */
export async function thumbnails(frames: DecodedFrames): Promise<Float32Array[]> {
  const reader = await openFrames(frames);
  try {
    const out: Float32Array[] = [];
    for (let i = 0; i < frames.count; i++) {
      out.push(downscaleLuma(await reader.read(i), frames.size));
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** Area-averages the first size×size bytes (the Y plane) into THUMB×THUMB. */
export function downscaleLuma(yuv: Uint8Array, size: number): Float32Array {
  const out = new Float32Array(THUMB * THUMB);
  const counts = new Float32Array(THUMB * THUMB);
  for (let y = 0; y < size; y++) {
    const ty = Math.min(THUMB - 1, Math.floor((y * THUMB) / size));
    for (let x = 0; x < size; x++) {
      const t = ty * THUMB + Math.min(THUMB - 1, Math.floor((x * THUMB) / size));
      out[t]! += yuv[y * size + x]!;
      counts[t]! += 1;
    }
  }
  for (let i = 0; i < out.length; i++) out[i]! /= counts[i] || 1;
  return out;
}
