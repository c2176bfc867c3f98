import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { LoopName } from './compiledAvatar.js';
import type { DecodedFrames } from './decodeClip.js';

/** The frame processor failed or broke its contract; the message says which and how. */
export class FrameProcessorError extends Error {
  override name = 'FrameProcessorError';
}

/**
 * The only variables of the server's environment a frame processor gets: what a shell and its
 * tools need. The rest may hold secrets (AVATAR_TOKEN_SECRET, AVATAR_TOKENS, cloud credentials);
 * a processor that needs more sets it in its own command (`CUDA_VISIBLE_DEVICES=0 my-model`).
 */
export const PROCESSOR_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TMPDIR', 'TZ'];

export function processorEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    PROCESSOR_ENV_KEYS.filter((key) => env[key] !== undefined).map((key) => [key, env[key]]),
  );
}

/**
 * The frame processor interface (the original system's optional AI step, `use_ai: true`), run at
 * compile time so that serving still only forwards packets:
 *
 * - `command` runs with `sh -c`; it reads the loop's frames on stdin as raw yuv420p,
 *   `AVATAR_FRAME_SIZE`×`AVATAR_FRAME_SIZE` pixels each, `AVATAR_FRAME_COUNT` of them, and writes
 *   the same number of frames in the same format to stdout, in order.
 * - Its environment also has `AVATAR_FPS`, `AVATAR_LOOP` (`idle` or `speaking`) and
 *   `AVATAR_FFMPEG` (the ffmpeg this server uses, handy for filter-based processors), and of the
 *   server's own environment only `PROCESSOR_ENV_KEYS`.
 * - A non-zero exit or a wrong number of bytes fails that avatar's compile.
 */
export async function processFrames(opts: {
  command: string;
  frames: DecodedFrames;
  output: string;
  fps: number;
  loop: LoopName;
  ffmpegPath: string;
}): Promise<DecodedFrames> {
  const { frames } = opts;
  const child = spawn('sh', ['-c', opts.command], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...processorEnvironment(process.env),
      AVATAR_FRAME_SIZE: String(frames.size),
      AVATAR_FRAME_COUNT: String(frames.count),
      AVATAR_FPS: String(opts.fps),
      AVATAR_LOOP: opts.loop,
      AVATAR_FFMPEG: opts.ffmpegPath,
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  // The processor may stop reading early (and fail); its exit status tells, not EPIPE.
  child.stdin.on('error', () => {});
  const feed = pipeline(createReadStream(frames.path), child.stdin).catch(() => {});
  const collect = pipeline(child.stdout, createWriteStream(opts.output));
  const [code] = await Promise.all([exited, feed, collect]);
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  if (code !== 0) {
    throw new FrameProcessorError(
      `frame processor exited with ${code} on the ${opts.loop} loop${tail ? `: ${tail}` : ''} (setting frameProcessor)`,
    );
  }
  const expected = frames.count * frames.frameBytes;
  const { size } = await stat(opts.output);
  if (size !== expected) {
    throw new FrameProcessorError(
      `frame processor returned ${size} bytes for the ${opts.loop} loop, expected ${expected} (${frames.count} yuv420p frames of ${frames.size}×${frames.size}) (setting frameProcessor)`,
    );
  }
  return { ...frames, path: opts.output };
}
