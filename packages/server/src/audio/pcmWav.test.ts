import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPcmWav, readPcmWav } from './pcmWav.js';

const dir = mkdtempSync(join(tmpdir(), 'pcmwav-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (bytes: Buffer) => {
  const path = join(dir, `${n++}.wav`);
  writeFileSync(path, bytes);
  return path;
};

/** A WAV by hand: `fmt` fields, optional chunks before `data`, and the data's declared size. */
function wav(options: {
  tag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  samples: Int16Array;
  extra?: Buffer;
  declaredSize?: number;
}) {
  const { tag = 1, channels = 1, rate = 24_000, bits = 16, samples, extra } = options;
  const fmt = Buffer.alloc(8 + 16);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(tag, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 16);
  fmt.writeUInt16LE((channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  const pcm = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const data = Buffer.alloc(8);
  data.write('data', 0, 'latin1');
  data.writeUInt32LE(options.declaredSize ?? pcm.length, 4);
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    fmt,
    extra ?? Buffer.alloc(0),
    data,
    pcm,
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

async function readAll(path: string) {
  const found = await findPcmWav(path);
  if (!found) return undefined;
  const parts: Int16Array[] = [];
  await readPcmWav(path, found, (s) => {
    parts.push(s);
    return true;
  });
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { rate: found.rate, samples: out };
}

describe('PCM WAV without ffmpeg', () => {
  it('reads 16-bit mono at 16, 24 and 48 kHz as it is, past chunks it does not know', async () => {
    const samples = Int16Array.from({ length: 4800 }, (_, i) => (i * 37) % 30_000);
    // A LIST chunk of odd length (padded to even), as some tools write.
    const list = Buffer.concat([
      Buffer.from('LIST', 'latin1'),
      Buffer.from([5, 0, 0, 0]),
      Buffer.from('INFOx\0'),
    ]);
    for (const rate of [16_000, 24_000, 48_000]) {
      const read = await readAll(file(wav({ rate, samples, extra: list })));
      expect(read?.rate).toBe(rate);
      expect(read?.samples).toEqual(samples);
    }
  });

  it('averages stereo to mono, across chunks of the file stream', async () => {
    // 100,000 stereo frames: the data is read in several chunks.
    const frames = 100_000;
    const stereo = Int16Array.from(
      { length: frames * 2 },
      (_, i) => (i % 2 ? 1000 : 3000) + ((i >> 1) % 7),
    );
    const read = await readAll(file(wav({ channels: 2, rate: 48_000, samples: stereo })));
    expect(read?.samples.length).toBe(frames);
    expect(read?.samples[0]).toBe(2000);
    expect(read?.samples[12_345]).toBe(2000 + (12_345 % 7));
  });

  it('reads to the end of the file when the data size is unknown (a WAV written to a pipe)', async () => {
    // What ffmpeg writes to a pipe: the real case behind `avatar.speak(blob)` of a generated WAV.
    const bytes = execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=440:r=48000:d=0.5'],
      ...['-ac', '1', '-f', 'wav', 'pipe:1'],
    ]);
    const read = await readAll(file(bytes));
    expect(read?.rate).toBe(48_000);
    expect(read?.samples.length).toBe(24_000);
    const unknown = await readAll(
      file(wav({ samples: Int16Array.of(1, 2, 3), declaredSize: 0xffffffff })),
    );
    expect(unknown?.samples).toEqual(Int16Array.of(1, 2, 3));
  });

  it('leaves to ffmpeg what it does not play as it is', async () => {
    const samples = new Int16Array(480);
    expect(await findPcmWav(file(wav({ rate: 44_100, samples })))).toBeUndefined();
    expect(await findPcmWav(file(wav({ rate: 22_050, samples })))).toBeUndefined();
    expect(await findPcmWav(file(wav({ tag: 3, bits: 32, samples })))).toBeUndefined(); // float
    expect(await findPcmWav(file(wav({ bits: 8, samples })))).toBeUndefined();
    expect(await findPcmWav(file(wav({ channels: 6, samples })))).toBeUndefined();
    expect(await findPcmWav(file(Buffer.from('ID3\u0004 not a wav at all')))).toBeUndefined();
    expect(await findPcmWav(file(Buffer.alloc(0)))).toBeUndefined();
  });
});
