/**
 * A 4×4 block code stamped into the luma plane of test pictures, so a test can tell from any
 * decoded picture which loop and which frame it shows. Pure code (no Node APIs).
 *
 * Layout: the code fills the central half of the picture (x and y from 1/4 to 3/4), split into
 * 4×4 equal cells, read row-major: cell 0 = sync (always white), cells 1–2 = loop (MSB first),
 * cells 3–14 = frame (MSB first), cell 15 = even parity over cells 1–14. White = 1, black = 0.
 */

/** Which loop (0 = idle, 1 = speaking, 2–3 spare) and which frame (0..4095) a picture shows. */
export type Marker = { loop: number; frame: number };

/** Loop numbers used by the test clips, so tests do not repeat magic numbers. */
export const LOOP = { idle: 0, speaking: 1 } as const;

/** Luma of a black (0) cell, video range, exported so tests can paint or flip cells. */
export const BLACK = 16;
/** Luma of a white (1) cell, video range. */
export const WHITE = 235;

const GRID = 4;
const LOOP_BITS = 2;
const FRAME_BITS = 12;
const MID = (BLACK + WHITE) / 2;
/** A cell whose mean lies closer than this to MID is neither black nor white: no marker. */
const MARGIN = (WHITE - BLACK) * 0.25;

/** Pixel edge i (0..GRID) of the code area along an axis of `len` pixels. */
function edge(len: number, i: number): number {
  return Math.round(len / 4 + (i * len) / 2 / GRID);
}

function encodeBits(marker: Marker): number[] {
  const { loop, frame } = marker;
  if (!Number.isInteger(loop) || loop < 0 || loop >= 1 << LOOP_BITS) {
    throw new RangeError(`marker loop out of range: ${loop}`);
  }
  if (!Number.isInteger(frame) || frame < 0 || frame >= 1 << FRAME_BITS) {
    throw new RangeError(`marker frame out of range: ${frame}`);
  }
  const bits = [1];
  for (let b = LOOP_BITS - 1; b >= 0; b--) bits.push((loop >> b) & 1);
  for (let b = FRAME_BITS - 1; b >= 0; b--) bits.push((frame >> b) & 1);
  bits.push(bits.slice(1).reduce((a, v) => a ^ v, 0));
  return bits;
}

/** Stamps `marker` into the Y plane `y` (row stride = width) of a width×height picture. */
export function drawMarker(y: Uint8Array, width: number, height: number, marker: Marker): void {
  const bits = encodeBits(marker);
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      const level = bits[row * GRID + col] ? WHITE : BLACK;
      const x0 = edge(width, col);
      const x1 = edge(width, col + 1);
      for (let py = edge(height, row); py < edge(height, row + 1); py++) {
        y.fill(level, py * width + x0, py * width + x1);
      }
    }
  }
}

/** Mean luma of the inner half (each way) of a cell, which avoids ringing at cell edges. */
function cellMean(y: Uint8Array, width: number, height: number, row: number, col: number): number {
  const x0 = edge(width, col);
  const x1 = edge(width, col + 1);
  const y0 = edge(height, row);
  const y1 = edge(height, row + 1);
  const ix0 = x0 + Math.floor((x1 - x0) / 4);
  const ix1 = Math.max(ix0 + 1, x1 - Math.floor((x1 - x0) / 4));
  const iy0 = y0 + Math.floor((y1 - y0) / 4);
  const iy1 = Math.max(iy0 + 1, y1 - Math.floor((y1 - y0) / 4));
  let sum = 0;
  for (let py = iy0; py < iy1; py++) {
    for (let px = ix0; px < ix1; px++) sum += y[py * width + px] ?? 0;
  }
  return sum / ((ix1 - ix0) * (iy1 - iy0));
}

/** Reads the marker from a Y plane; null if there is none (unclear cell, no sync, bad parity). */
export function readMarker(y: Uint8Array, width: number, height: number): Marker | null {
  if (y.length < width * height) throw new RangeError('luma plane smaller than width×height');
  const bits: number[] = [];
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      const mean = cellMean(y, width, height, row, col);
      if (Math.abs(mean - MID) < MARGIN) return null;
      bits.push(mean > MID ? 1 : 0);
    }
  }
  if (bits[0] !== 1) return null;
  if (bits.slice(1).reduce((a, v) => a ^ v, 0) !== 0) return null;
  let loop = 0;
  let frame = 0;
  for (let i = 1; i <= LOOP_BITS; i++) loop = (loop << 1) | (bits[i] ?? 0);
  for (let i = 1 + LOOP_BITS; i <= LOOP_BITS + FRAME_BITS; i++) {
    frame = (frame << 1) | (bits[i] ?? 0);
  }
  return { loop, frame };
}
