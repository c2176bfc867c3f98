import { describe, expect, it } from 'vitest';
import { PcmReader } from './pcm.js';

describe('PcmReader', () => {
  const samples = Int16Array.from({ length: 999 }, (_, i) => ((i * 7919) % 65536) - 32768);
  const encode = (littleEndian: boolean) => {
    const b = Buffer.alloc(samples.length * 2);
    for (const [i, v] of samples.entries()) {
      if (littleEndian) b.writeInt16LE(v, i * 2);
      else b.writeInt16BE(v, i * 2);
    }
    return b;
  };

  for (const littleEndian of [true, false]) {
    it(`reads ${littleEndian ? 'little' : 'big'}-endian samples split anywhere, odd bytes carried`, () => {
      const bytes = encode(littleEndian);
      const reader = new PcmReader(littleEndian);
      const out: number[] = [];
      // Chunks of 1, 2, 3, … bytes: boundaries fall inside samples too.
      for (let at = 0, size = 1; at < bytes.length; at += size, size++) {
        out.push(...reader.read(bytes.subarray(at, at + size)));
      }
      expect(Int16Array.from(out)).toEqual(samples);
      expect(reader.samples).toBe(samples.length);
    });
  }
});
