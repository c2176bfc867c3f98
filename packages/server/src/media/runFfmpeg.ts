import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** ffmpeg exited with an error; the message carries the last lines it printed. */
export class FfmpegError extends Error {
  override name = 'FfmpegError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(message);
  }
}

export type FfmpegRun = {
  /** ffmpeg's stdout (raw frames or an elementary stream, depending on the arguments). */
  stdout: Readable;
  /** Writes one chunk to ffmpeg's stdin, waiting when the pipe is full. */
  write(chunk: Uint8Array): Promise<void>;
  /** Called with everything ffmpeg printed so far (the tail kept), whenever it prints. */
  stderrText(listener: (text: string) => void): void;
  /** Closes ffmpeg's stdin (end of input). */
  end(): void;
  /** Resolves when ffmpeg exits 0; rejects with an FfmpegError otherwise. */
  done: Promise<void>;
  kill(): void;
};

const STDERR_KEEP = 4000;

/** Every ffmpeg still running, so that shutting down never leaves one behind. */
const running = new Set<ReturnType<typeof spawn>>();

/** Kills every ffmpeg this process started that is still running (server shutdown). */
export function killAllFfmpeg() {
  for (const child of running) child.kill('SIGKILL');
}

/** Spawns ffmpeg with `-hide_banner -nostdin`-style hygiene and keeps the tail of its stderr. */
export function runFfmpeg(
  ffmpegPath: string,
  args: string[],
  what: string,
  options: { timeoutMs?: number; onFrames?: (frames: number) => void } = {},
): FfmpegRun {
  // `-progress` goes to a fourth pipe, so stdout (frames, a stream) and stderr (errors) stay clean;
  // ffmpeg writes a block every 0.5 s (its default stats period, not set: older builds lack it).
  const progress = options.onFrames ? ['-progress', 'pipe:3'] : [];
  const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', ...progress, ...args], {
    stdio: ['pipe', 'pipe', 'pipe', ...(options.onFrames ? (['pipe'] as const) : [])],
  });
  running.add(child);
  if (options.onFrames) readProgress(child.stdio[3] as Readable, options.onFrames);
  let timedOut = false;
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs)
    : undefined;
  let stderr = '';
  const stderrListeners: Array<(text: string) => void> = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
    for (const listener of stderrListeners) listener(stderr);
  });
  // A write after ffmpeg exited raises EPIPE on stdin; the exit code carries the real error.
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      running.delete(child);
      clearTimeout(timer);
      reject(new FfmpegError(`${what}: ${err.message}`, null, stderr));
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      if (code === 0) return resolve();
      if (timedOut) {
        return reject(
          new FfmpegError(
            `${what}: ffmpeg did not finish within ${options.timeoutMs} ms`,
            code,
            stderr,
          ),
        );
      }
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(
        new FfmpegError(
          `${what}: ffmpeg ${signal ? `was killed (${signal})` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`,
          code,
          stderr,
        ),
      );
    });
  });
  // ffmpeg can fail while the caller is still writing frames, before it awaits `done`: mark the
  // rejection handled here so it never becomes an unhandled rejection (which ends the process).
  done.catch(() => {});
  return {
    stdout: child.stdout,
    write(chunk) {
      if (child.stdin.destroyed) return Promise.resolve();
      if (child.stdin.write(chunk)) return Promise.resolve();
      return new Promise((resolve) => {
        const settle = () => {
          child.stdin.off('drain', settle);
          child.stdin.off('close', settle);
          resolve();
        };
        child.stdin.once('drain', settle);
        child.stdin.once('close', settle);
      });
    },
    stderrText(listener) {
      stderrListeners.push(listener);
    },
    end() {
      child.stdin.end();
    },
    done,
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/**
 * ffmpeg's `-progress` output: blocks of `key=value` lines, each ending with `progress=…`. Only
 * `frame=` (frames written to the output so far) is passed on, once per block.
 */
function readProgress(stream: Readable, onFrames: (frames: number) => void) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const frame = /^frame=(\d+)/.exec(line);
      if (frame) onFrames(Number(frame[1]));
    }
  });
  // The pipe closes with ffmpeg; an error on it says nothing the exit code does not.
  stream.on('error', () => {});
}

/** Runs ffmpeg to completion and returns everything it wrote to stdout. */
export async function ffmpegToBuffer(
  ffmpegPath: string,
  args: string[],
  what: string,
  options: { input?: Uint8Array; timeoutMs?: number } = {},
): Promise<Buffer> {
  const run = runFfmpeg(ffmpegPath, args, what, options);
  const input = options.input;
  const chunks: Buffer[] = [];
  run.stdout.on('data', (c: Buffer) => chunks.push(c));
  if (input) await run.write(input);
  run.end();
  await run.done;
  return Buffer.concat(chunks);
}

const versions = new Map<string, Promise<string>>();

/** The first line of `ffmpeg -version` (which build encodes matters for the cache key). */
export function ffmpegVersion(ffmpegPath: string): Promise<string> {
  let version = versions.get(ffmpegPath);
  if (!version) {
    version = ffmpegToBuffer(ffmpegPath, ['-version'], 'ffmpeg -version', { timeoutMs: 10_000 })
      .then((out) => out.toString('utf8').split('\n')[0] ?? '')
      .catch(() => 'unknown');
    versions.set(ffmpegPath, version);
  }
  return version;
}
