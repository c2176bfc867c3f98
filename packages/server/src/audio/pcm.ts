import { AvatarServerError } from '../lib/errors.js';
import { PCM_RATES, type PcmRate } from './opusEncoder.js';

/** Raw 16-bit PCM as it is streamed: its rate and byte order (RFC 2586 L16 is big-endian). */
export type PcmFormat = { rate: PcmRate; littleEndian: boolean };

/** Typed arrays use the machine's byte order: little-endian on every platform Node supports but a few. */
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

const RATE_HELP = `rates ${PCM_RATES.join(', ')}; channels=1`;

/** Checks a rate given by a client (Content-Type parameter, data-channel message). */
export function pcmRate(value: unknown): PcmRate {
  const rate = Number(value);
  if (!(PCM_RATES as readonly number[]).includes(rate)) {
    throw new AvatarServerError(
      'bad_content_type',
      `unsupported PCM rate ${String(value)}: send audio/L16 with ${RATE_HELP} (or a whole file in any format ffmpeg reads)`,
    );
  }
  return rate as PcmRate;
}

/**
 * Reads `audio/L16;rate=24000;channels=1` (RFC 2586: signed 16-bit, network byte order), with our
 * extension `endianness=little-endian` for the little-endian PCM most text-to-speech APIs give.
 * Returns undefined for any other type (a whole file for ffmpeg).
 */
export function parseL16ContentType(contentType: string | undefined): PcmFormat | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';').map((p) => p.trim());
  if (type?.toLowerCase() !== 'audio/l16') return undefined;
  const values = new Map(
    params.map((p) => {
      const [k = '', v = ''] = p.split('=');
      return [k.trim().toLowerCase(), v.trim().replace(/^"|"$/g, '').toLowerCase()];
    }),
  );
  const channels = values.get('channels') ?? '1';
  if (channels !== '1') {
    throw new AvatarServerError(
      'bad_content_type',
      `audio/L16 with ${channels} channels: send mono (channels=1; ${RATE_HELP})`,
    );
  }
  if (!values.has('rate')) {
    throw new AvatarServerError(
      'bad_content_type',
      `audio/L16 needs its rate: e.g. audio/L16;rate=24000;channels=1 (${RATE_HELP})`,
    );
  }
  const endianness = values.get('endianness') ?? 'big-endian';
  if (endianness !== 'big-endian' && endianness !== 'little-endian') {
    throw new AvatarServerError(
      'bad_content_type',
      `endianness=${endianness}: use big-endian (RFC 2586, the default) or little-endian`,
    );
  }
  return { rate: pcmRate(values.get('rate')), littleEndian: endianness === 'little-endian' };
}

/**
 * Turns a stream of PCM bytes into samples, keeping an odd trailing byte for the next chunk
 * (chunk boundaries fall anywhere).
 */
export class PcmReader {
  #littleEndian: boolean;
  #carry: Buffer | undefined;
  samples = 0;

  constructor(littleEndian: boolean) {
    this.#littleEndian = littleEndian;
  }

  read(chunk: Buffer): Int16Array {
    const bytes = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const even = bytes.length & ~1;
    this.#carry = even < bytes.length ? Buffer.from(bytes.subarray(even)) : undefined;
    // One native copy into the samples' own buffer (then a native byte swap where the order
    // differs): a JavaScript call per sample cost the HTTP front ~1 % of a core per stream.
    const out = new Int16Array(even / 2);
    const view = Buffer.from(out.buffer, out.byteOffset, even);
    bytes.copy(view, 0, 0, even);
    if (this.#littleEndian !== LITTLE_ENDIAN_HOST) view.swap16();
    this.samples += out.length;
    return out;
  }
}
