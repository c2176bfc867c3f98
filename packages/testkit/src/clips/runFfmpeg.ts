import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** `FFMPEG_PATH`, else `ffmpeg` on PATH. */
export const defaultFfmpeg = (): string => process.env.FFMPEG_PATH ?? 'ffmpeg';

/** Runs ffmpeg, feeding `input` to stdin; resolves with stdout, rejects with stderr's tail. */
export async function runFfmpeg(
  ffmpegPath: string,
  args: string[],
  input: Readable,
): Promise<Buffer> {
  const proc = spawn(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => out.push(c));
  proc.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => resolve(code));
  });
  const [fed, code] = await Promise.allSettled([pipeline(input, proc.stdin), exited]);
  if (code.status === 'rejected') throw new Error(`cannot run ${ffmpegPath}: ${code.reason}`);
  if (code.value !== 0) {
    const tail = stderr.trim().split('\n').slice(-10).join('\n');
    throw new Error(`ffmpeg exited with code ${code.value}:\n${tail}`);
  }
  if (fed.status === 'rejected') throw fed.reason;
  return Buffer.concat(out);
}
