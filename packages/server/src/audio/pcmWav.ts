import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PCM_RATES, type PcmRate } from './opusEncoder.js';
import { PcmReader } from './pcm.js';

/** Where the samples of a plain PCM WAV are, and how to read them. */
export type PcmWav = { rate: PcmRate; channels: 1 | 2; dataStart: number; dataEnd: number };

/** Enough of the file to find the data chunk behind a usual header (fmt, LIST, fact, …). */
const HEAD_BYTES = 4096;
const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * A WAV the voice plays as it is, without ffmpeg: 16-bit PCM, mono or stereo, at a rate the Opus
 * encoder takes natively (16, 24 or 48 kHz). Starting ffmpeg and reading its output costs tens of
 * milliseconds before the first sample (docs/benchmarks.md, "The voice in Chromium"); most
 * text-to-speech APIs give exactly this. Anything else (another rate, 8/24/32-bit or float, a
 * header this does not understand) is undefined: ffmpeg decodes it as before.
 */
export async function findPcmWav(path: string): Promise<PcmWav | undefined> {
  const file = await open(path, 'r');
  let head: Buffer;
  let size: number;
  try {
    size = (await file.stat()).size;
    head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    await file.read(head, 0, head.length, 0);
  } finally {
    await file.close();
  }
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF') return undefined;
  if (head.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  let format: { rate: number; channels: number } | undefined;
  for (let at = 12; at + 8 <= head.length; ) {
    const id = head.toString('latin1', at, at + 4);
    const length = head.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + 16 > head.length) return undefined;
      let tag = head.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE names its real format in the first two bytes of its sub-format.
      if (tag === WAVE_FORMAT_EXTENSIBLE && length >= 40 && body + 26 <= head.length) {
        tag = head.readUInt16LE(body + 24);
      }
      const channels = head.readUInt16LE(body + 2);
      const rate = head.readUInt32LE(body + 4);
      const bits = head.readUInt16LE(body + 14);
      if (tag !== WAVE_FORMAT_PCM || bits !== 16 || (channels !== 1 && channels !== 2)) {
        return undefined;
      }
      if (!(PCM_RATES as readonly number[]).includes(rate)) return undefined;
      format = { rate, channels };
    } else if (id === 'data') {
      if (!format) return undefined;
      // A WAV written to a pipe does not know its length (0 or 0xFFFFFFFF): up to the file's end.
      const declared = length === 0 || length === 0xffffffff ? size - body : length;
      return {
        rate: format.rate as PcmRate,
        channels: format.channels as 1 | 2,
        dataStart: body,
        dataEnd: Math.min(size, body + declared),
      };
    }
    at = body + length + (length & 1);
  }
  return undefined;
}

/**
 * Reads the samples of `wav` (found by findPcmWav) as they come off the disk, as mono: stereo is
 * averaged. Stops, returning false, when `onSamples` returns false (e.g. too long).
 */
export async function readPcmWav(
  path: string,
  wav: PcmWav,
  onSamples: (samples: Int16Array) => boolean,
): Promise<boolean> {
  const reader = new PcmReader(true);
  const stream = createReadStream(path, { start: wav.dataStart, end: wav.dataEnd - 1 });
  let odd: number | undefined; // a stereo frame split between two chunks
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let samples = reader.read(chunk);
    if (wav.channels === 2) samples = downmix(samples, odd, (left) => (odd = left));
    if (samples.length > 0 && !onSamples(samples)) {
      stream.destroy();
      return false;
    }
  }
  return true;
}

/** Averages interleaved stereo samples; a trailing left sample waits for its right one. */
function downmix(
  samples: Int16Array,
  carried: number | undefined,
  carry: (left: number | undefined) => void,
): Int16Array {
  const all = carried === undefined ? samples : Int16Array.of(carried, ...samples);
  const frames = all.length >> 1;
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) out[i] = (all[2 * i]! + all[2 * i + 1]!) >> 1;
  carry(all.length & 1 ? all[all.length - 1] : undefined);
  return out;
}
