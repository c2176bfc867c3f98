import { describe, expect, it } from 'vitest';
import { BLACK, drawMarker, LOOP, type Marker, readMarker, WHITE } from './markerCode.js';

const SIZES = [128, 256, 512];

function grey(size: number, level = 128): Uint8Array {
  return new Uint8Array(size * size).fill(level);
}

describe('markerCode', () => {
  it('round-trips many markers at several sizes', () => {
    const frames = [0, 1, 2, 7, 100, 1234, 2048, 4000, 4094, 4095];
    for (const size of SIZES) {
      for (let loop = 0; loop < 4; loop++) {
        for (const frame of frames) {
          const y = grey(size, 90);
          drawMarker(y, size, size, { loop, frame });
          expect(readMarker(y, size, size)).toEqual({ loop, frame });
        }
      }
    }
  });

  it('round-trips every frame index of both named loops', () => {
    const y = grey(128);
    for (const loop of [LOOP.idle, LOOP.speaking]) {
      for (let frame = 0; frame < 4096; frame++) {
        drawMarker(y, 128, 128, { loop, frame });
        expect(readMarker(y, 128, 128)).toEqual({ loop, frame });
      }
    }
  });

  it('works on non-square pictures', () => {
    const y = new Uint8Array(320 * 180);
    drawMarker(y, 320, 180, { loop: 1, frame: 321 });
    expect(readMarker(y, 320, 180)).toEqual({ loop: 1, frame: 321 });
  });

  it('returns null when there is no marker', () => {
    for (const size of SIZES) {
      for (const level of [0, BLACK, 128, WHITE, 255]) {
        expect(readMarker(grey(size, level), size, size)).toBeNull();
      }
    }
  });

  it('detects any single flipped cell', () => {
    const size = 256;
    const marker: Marker = { loop: 1, frame: 2730 };
    const cell = size / 8; // the code spans size/4..3size/4 in a 4×4 grid
    for (let i = 0; i < 16; i++) {
      const y = grey(size);
      drawMarker(y, size, size, marker);
      const cx = size / 4 + (i % 4) * cell + cell / 2;
      const cy = size / 4 + Math.floor(i / 4) * cell + cell / 2;
      const level = (y[cy * size + cx] ?? 0) > 128 ? BLACK : WHITE;
      for (let py = cy - cell / 2; py < cy + cell / 2; py++) {
        y.fill(level, py * size + cx - cell / 2, py * size + cx + cell / 2);
      }
      expect(readMarker(y, size, size), `cell ${i}`).toBeNull();
    }
  });

  it('rejects out-of-range markers', () => {
    const y = grey(128);
    expect(() => drawMarker(y, 128, 128, { loop: 4, frame: 0 })).toThrow(RangeError);
    expect(() => drawMarker(y, 128, 128, { loop: 0, frame: 4096 })).toThrow(RangeError);
    expect(() => drawMarker(y, 128, 128, { loop: 0, frame: -1 })).toThrow(RangeError);
  });
});
