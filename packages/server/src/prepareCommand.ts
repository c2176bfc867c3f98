import { parseArgs } from 'node:util';
import { findFfmpeg } from './media/findFfmpeg.js';
import { prepareClip } from './media/prepareClip.js';

export const PREPARE_USAGE = `usage: avatar-server prepare <input> --output <clip.mp4> [options]

  --size N        square size in pixels (default 512)
  --fps N         frame rate (default 25)
  --crf N         quality, 18 (near lossless) … 28 (small) (default 18)
  --start T       start of the segment to keep: seconds or hh:mm:ss
  --duration S    seconds to keep (default: to the end)
  --enhance       brighten, add contrast, saturation and sharpness (the original's recipe)
  --ffmpeg-path P an ffmpeg binary (default: FFMPEG_PATH, ffmpeg-static, PATH)`;

/** A usage mistake: one line saying what is wrong, then how to call it. */
export class PrepareUsageError extends Error {}

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new PrepareUsageError(`--${name} ${value}: expected a positive number`);
  return n;
}

/** `avatar-server prepare`: a recording in, a clip ready for the videos folder out, with a progress bar. */
export async function runPrepare(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      size: { type: 'string' },
      fps: { type: 'string' },
      crf: { type: 'string' },
      start: { type: 'string' },
      duration: { type: 'string' },
      enhance: { type: 'boolean' },
      'ffmpeg-path': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(PREPARE_USAGE);
    return;
  }
  const input = positionals[0];
  if (!input || !values.output) {
    throw new PrepareUsageError(`prepare needs an input and --output\n${PREPARE_USAGE}`);
  }
  const size = number(values.size, 'size', 512);
  if (size % 2 !== 0) throw new PrepareUsageError(`--size ${size}: use an even number, e.g. 512`);
  const ffmpeg = findFfmpeg({ configured: values['ffmpeg-path'] });
  const bar = (fraction: number) => {
    const width = 30;
    const done = Math.round(fraction * width);
    const line = `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${Math.round(fraction * 100)}%`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
    else if (fraction === 1) process.stderr.write(`${line}\n`);
  };
  await prepareClip(
    ffmpeg.path,
    {
      input,
      output: values.output,
      size,
      fps: number(values.fps, 'fps', 25),
      crf: number(values.crf, 'crf', 18),
      start: values.start,
      durationSeconds:
        values.duration === undefined ? undefined : number(values.duration, 'duration', 0),
      enhance: values.enhance ?? false,
    },
    bar,
  );
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(
    `${values.output}: ready for the videos folder (${size}×${size}, ${number(values.fps, 'fps', 25)} fps, no audio)`,
  );
}
