/**
 * Test clips whose every frame carries a marker (see markerCode.ts), and a decoder that reads the
 * markers back from an MP4 file or an Annex-B H.264 stream, both through a real ffmpeg.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { drawMarker, type Marker, readMarker } from './markerCode.js';
import { defaultFfmpeg, runFfmpeg } from './runFfmpeg.js';

/** Options of makeMarkerClip; `crf` (default 23) lets tests check markers survive compression. */
export type MarkerClipOptions = {
  path: string;
  loop: number;
  frames: number;
  size?: number;
  fps?: number;
  ffmpegPath?: string;
  withAudio?: boolean;
  crf?: number;
};

/** Renders frame `index` of loop `loop` as yuv420p: moving stripes that differ per loop + marker. */
export function renderFrame(loop: number, index: number, size: number): Buffer {
  const frame = Buffer.alloc((size * size * 3) / 2);
  const angle = (loop * Math.PI) / 3 + Math.PI / 8;
  const kx = (Math.cos(angle) * 2 * Math.PI) / (size / 6);
  const ky = (Math.sin(angle) * 2 * Math.PI) / (size / 6);
  const phase = (index * 2 * Math.PI) / 20;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      frame[py * size + px] = 90 + Math.round(60 * Math.sin(kx * px + ky * py + phase));
    }
  }
  drawMarker(frame, size, size, { loop, frame: index });
  const quarter = (size * size) / 4;
  frame.fill(loop % 2 ? 100 : 160, size * size, size * size + quarter); // U: tint per loop
  frame.fill(loop % 2 ? 170 : 110, size * size + quarter); // V
  return frame;
}

/** Writes an H.264 MP4 of `frames` marker frames of one loop (atomically: tmp file + rename). */
export async function makeMarkerClip(opts: MarkerClipOptions): Promise<void> {
  const { path, loop, frames, size = 256, fps = 25, crf = 23, withAudio = false } = opts;
  if (size % 2 !== 0 || size < 16) throw new RangeError(`size must be even and ≥ 16: ${size}`);
  if (!Number.isInteger(frames) || frames < 1 || frames > 4096) {
    throw new RangeError(`frames must be 1..4096: ${frames}`);
  }
  renderFrame(loop, 0, size); // validates loop before spawning ffmpeg
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const audio = withAudio
    ? ['-f', 'lavfi', '-t', String(frames / fps), '-i', 'anullsrc=r=48000:cl=stereo']
    : [];
  const audioOut = withAudio ? ['-map', '1:a', '-c:a', 'aac', '-b:a', '64k'] : [];
  const args = [
    ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${size}x${size}`, '-r', String(fps)],
    ...['-i', 'pipe:0', ...audio, '-map', '0:v', ...audioOut],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-pix_fmt', 'yuv420p'],
    ...['-movflags', '+faststart', '-f', 'mp4', '-y', tmp],
  ];
  function* source(): Generator<Buffer> {
    for (let i = 0; i < frames; i++) yield renderFrame(loop, i, size);
  }
  try {
    await runFfmpeg(opts.ffmpegPath ?? defaultFfmpeg(), args, Readable.from(source()));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Decodes every frame of a video file or Annex-B H.264 buffer and reads its marker, in order. */
export async function decodeMarkers(opts: {
  input: string | Buffer;
  size: number;
  ffmpegPath?: string;
  format?: 'h264' | undefined;
}): Promise<Array<Marker | null>> {
  const { input, size } = opts;
  const isBuffer = typeof input !== 'string';
  const format = opts.format ?? (isBuffer ? 'h264' : undefined);
  const args = [
    ...(format ? ['-f', format] : []),
    ...['-i', isBuffer ? 'pipe:0' : input, '-map', '0:v:0', '-an'],
    ...['-vf', `scale=${size}:${size}`, '-fps_mode', 'passthrough'],
    ...['-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
  ];
  const raw = await runFfmpeg(
    opts.ffmpegPath ?? defaultFfmpeg(),
    args,
    Readable.from(isBuffer ? [input] : []),
  );
  const frameBytes = size * size;
  if (raw.length % frameBytes !== 0) {
    throw new Error(`decoded ${raw.length} bytes, not a whole number of ${size}×${size} frames`);
  }
  const markers: Array<Marker | null> = [];
  for (let off = 0; off < raw.length; off += frameBytes) {
    markers.push(readMarker(raw.subarray(off, off + frameBytes), size, size));
  }
  return markers;
}
