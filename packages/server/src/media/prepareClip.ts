import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { probeClip } from './probeClip.js';
import { runFfmpeg } from './runFfmpeg.js';

/** What `avatar-server prepare` does to a recording: the original README's recipes as options. */
export type PrepareOptions = {
  input: string;
  output: string;
  /** Square size in pixels (scaled to cover, centre-cropped). */
  size: number;
  fps: number;
  /** x264 quality: 18 is visually lossless, 23 is smaller. */
  crf: number;
  /** Cut a segment: start (seconds or hh:mm:ss) and duration in seconds. */
  start?: string | undefined;
  durationSeconds?: number | undefined;
  /** The original's "colour and sharpness" recipe: brightness, contrast, saturation, unsharp. */
  enhance?: boolean;
};

/** The ffmpeg arguments for a preparation (separate so tests can read them). */
export function prepareArgs(o: PrepareOptions, output: string): string[] {
  const filters = [
    `scale=${o.size}:${o.size}:force_original_aspect_ratio=increase:flags=lanczos`,
    `crop=${o.size}:${o.size}`,
    'setsar=1',
  ];
  if (o.enhance) {
    filters.push('eq=brightness=0.05:contrast=1.1:saturation=1.1', 'unsharp=5:5:1.0:5:5:0.0');
  }
  return [
    ...(o.start ? ['-ss', o.start] : []),
    ...(o.durationSeconds ? ['-t', String(o.durationSeconds)] : []),
    ...['-i', o.input, '-vf', filters.join(','), '-r', String(o.fps)],
    ...['-c:v', 'libx264', '-preset', 'slow', '-crf', String(o.crf), '-pix_fmt', 'yuv420p'],
    ...[
      '-an',
      '-movflags',
      '+faststart',
      '-progress',
      'pipe:1',
      '-nostats',
      '-f',
      'mp4',
      '-y',
      output,
    ],
  ];
}

/**
 * Turns a recording into a clip ready for the videos folder, reporting progress (0…1) as ffmpeg
 * works. Written to a temporary file and renamed, so a failed run leaves nothing half-written.
 */
export async function prepareClip(
  ffmpegPath: string,
  options: PrepareOptions,
  onProgress: (fraction: number) => void = () => {},
): Promise<void> {
  const info = await probeClip(ffmpegPath, options.input);
  const startSeconds = options.start ? parseTime(options.start) : 0;
  const total = options.durationSeconds ?? Math.max(0.001, info.durationSeconds - startSeconds);
  const temporary = `${options.output}.${randomBytes(4).toString('hex')}.tmp.mp4`;
  const run = runFfmpeg(ffmpegPath, prepareArgs(options, temporary), `preparing ${options.input}`);
  run.stdout.setEncoding('utf8');
  run.stdout.on('data', (text: string) => {
    const match = /out_time_us=(\d+)/.exec(text);
    if (match) onProgress(Math.min(1, Number(match[1]) / 1e6 / total));
  });
  run.end();
  try {
    await run.done;
    await rename(temporary, options.output);
    onProgress(1);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Seconds from "90", "1:30" or "00:01:30.5". */
export function parseTime(text: string): number {
  return text.split(':').reduce((seconds, part) => seconds * 60 + Number(part), 0);
}
