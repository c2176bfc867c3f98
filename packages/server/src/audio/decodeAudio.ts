import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AvatarServerError } from '../lib/errors.js';
import { FfmpegError, runFfmpeg } from '../media/runFfmpeg.js';
import { PcmReader } from './pcm.js';

/** What ffmpeg decodes every upload to: mono 16-bit PCM at 48 kHz, Opus's own rate. */
export const DECODED_RATE = 48_000;

export type DecodeLimits = {
  maxBytes: number;
  maxSeconds: number;
  timeoutMs: number;
};

/** The upload ended in an error: what the client is told, and the HTTP problem. */
export function tooLarge(maxBytes: number) {
  return new AvatarServerError(
    'payload_too_large',
    `the audio is larger than ${Math.round((maxBytes / 1e6) * 10) / 10} MB (setting audio.maxUploadMb): send shorter utterances, or stream PCM`,
  );
}

export function tooLong(maxSeconds: number) {
  return new AvatarServerError(
    'payload_too_large',
    `the audio is longer than ${maxSeconds} s (setting audio.maxUtteranceSeconds): split it into utterances`,
  );
}

/**
 * Writes the request body to a temporary file, counting bytes: beyond `maxBytes` it stops at
 * once (413) without holding the body in memory. A file, not a pipe, because ffmpeg must seek in
 * some formats (an MP4/M4A whose index is at its end).
 */
export async function receiveUpload(body: Readable, maxBytes: number): Promise<string> {
  const path = join(tmpdir(), `avatar-audio-${randomBytes(8).toString('hex')}`);
  const file = createWriteStream(path, { mode: 0o600 });
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      // A full disk, or a write after the upload was refused: the upload fails, never the server.
      file.on('error', reject);
      body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          body.pause();
          reject(tooLarge(maxBytes));
          return;
        }
        if (file.destroyed) return;
        if (!file.write(chunk)) {
          body.pause();
          file.once('drain', () => body.resume());
        }
      });
      body.on('end', () => resolve());
      body.on('error', reject);
      body.on('aborted', () =>
        reject(new AvatarServerError('bad_request', 'the upload was aborted')),
      );
    });
    if (bytes === 0) {
      throw new AvatarServerError(
        'unreadable_audio',
        'the body is empty: send an audio file (WAV, MP3, Ogg, …) or stream audio/L16',
      );
    }
    await new Promise<void>((resolve, reject) =>
      file.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    return path;
  } catch (err) {
    file.on('error', () => {}); // writes still pending fail quietly: the file is removed
    file.destroy();
    await rm(path, { force: true });
    throw err;
  }
}

/**
 * Decodes an audio file (any format ffmpeg reads; the audio of a video too) to mono 48 kHz
 * samples, passed on as they come. Bounded in time (`timeoutMs`, the process is killed) and in
 * length (`maxSeconds`). A file without audio, or not media at all, is a 422 with ffmpeg's reason.
 */
export async function decodeFile(
  ffmpegPath: string,
  path: string,
  limits: DecodeLimits,
  onSamples: (samples: Int16Array) => void,
): Promise<{ samples: number }> {
  const run = runFfmpeg(
    ffmpegPath,
    [
      '-i',
      path,
      '-map',
      '0:a:0',
      '-vn',
      '-ac',
      '1',
      '-ar',
      String(DECODED_RATE),
      '-f',
      's16le',
      'pipe:1',
    ],
    'decoding audio',
    { timeoutMs: limits.timeoutMs },
  );
  run.end();
  const reader = new PcmReader(true);
  const maxSamples = limits.maxSeconds * DECODED_RATE;
  let overLong = false;
  run.stdout.on('data', (chunk: Buffer) => {
    if (overLong) return;
    const samples = reader.read(chunk);
    if (reader.samples > maxSamples) {
      overLong = true;
      run.kill();
      return;
    }
    if (samples.length > 0) onSamples(samples);
  });
  try {
    await run.done;
  } catch (err) {
    if (overLong) throw tooLong(limits.maxSeconds);
    const tail = err instanceof FfmpegError ? err.stderrTail : String(err);
    if (/did not finish within/.test((err as Error).message)) {
      throw new AvatarServerError(
        'unreadable_audio',
        `decoding the audio took longer than ${limits.timeoutMs} ms (setting audio.decodeTimeoutMs)`,
      );
    }
    throw new AvatarServerError('unreadable_audio', unreadableDetail(tail));
  }
  if (reader.samples === 0) {
    throw new AvatarServerError('unreadable_audio', 'the file decodes to no audio samples');
  }
  return { samples: reader.samples };
}

/** ffmpeg's reason, in words a client can act on. */
function unreadableDetail(stderr: string): string {
  if (/matches no streams|does not contain any stream|Stream map '0:a:0'/i.test(stderr)) {
    return 'the file has no audio stream: send audio (WAV, MP3, Ogg, …)';
  }
  const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
  // Only ffmpeg's reason: the temporary file's name says nothing to the client.
  const reason = last.replace(/^[^:]*avatar-audio-[0-9a-f]+:\s*/, '').slice(0, 200);
  return `the body is not audio ffmpeg can read${reason ? ` (${reason})` : ''}: send WAV, MP3, Ogg, FLAC, … or stream audio/L16;rate=24000;channels=1`;
}

/** At most `max` decodes at once on this server; beyond, 503 with Retry-After. */
export class DecodeSlots {
  #busy = 0;
  constructor(readonly max: number) {}

  take(): () => void {
    if (this.#busy >= this.max) {
      throw new AvatarServerError(
        'server_busy',
        `the server is decoding ${this.max} uploads already (setting audio.maxConcurrentDecodes); retry shortly`,
        { retryAfterSeconds: 1 },
      );
    }
    this.#busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy--;
    };
  }
}
