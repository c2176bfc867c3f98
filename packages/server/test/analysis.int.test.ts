import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePendulumClip } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeLoops, type LoopAnalysis } from '../src/media/analysis/analyzeLoops.js';
import { thumbnails } from '../src/media/analysis/thumbnails.js';
import { decodeClip } from '../src/media/decodeClip.js';

const PERIOD = 40;
const SPEAKING_PHASE = 10;
let dir: string;
let result: LoopAnalysis;

/** Decodes a clip and returns its thumbnails, as the compiler does. */
async function thumbsOf(path: string) {
  const frames = await decodeClip({
    ffmpegPath: process.env.FFMPEG_PATH ?? 'ffmpeg',
    input: path,
    output: `${path}.yuv`,
    size: 128,
    fps: 25,
  });
  return thumbnails(frames);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'analysis-'));
  // 110 frames = 2.75 swings: the whole clip wraps badly; 80 frames (two swings) loop perfectly.
  await makePendulumClip({ path: join(dir, 'idle.mp4'), frames: 110, period: PERIOD });
  await makePendulumClip({
    path: join(dir, 'speaking.mp4'),
    frames: 90,
    period: PERIOD,
    phase: SPEAKING_PHASE,
  });
  result = analyzeLoops(
    {
      idle: await thumbsOf(join(dir, 'idle.mp4')),
      speaking: await thumbsOf(join(dir, 'speaking.mp4')),
    },
    { trim: true, minLoopFraction: 0.6 },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loop analysis on clips with known motion', () => {
  it('finds the seam: a whole number of swings, with a wrap no bigger than a normal step', () => {
    for (const name of ['idle', 'speaking'] as const) {
      const seam = result.analysis.seams[name];
      expect((seam.end - seam.start + 1) % PERIOD, name).toBe(0);
      expect(seam.ratio, name).toBeLessThanOrEqual(1.5);
      expect(seam.untrimmedRatio, name).toBeGreaterThan(3); // the untrimmed clip jumps visibly
    }
  });

  it('cuts each idle frame to the speaking frame at the same point of the swing', () => {
    const idleStart = result.analysis.seams.idle.start;
    const speakingStart = result.analysis.seams.speaking.start;
    const phaseOf = (frame: number, start: number, phase: number) =>
      (start + frame + phase) % PERIOD;
    result.cuts.idle.forEach((target, i) => {
      // After idle frame i the swing is at idle phase i+1: the speaking frame shown must be there.
      const want = phaseOf(i + 1, idleStart, 0);
      const got = phaseOf(target, speakingStart, SPEAKING_PHASE);
      expect(
        Math.min((got - want + PERIOD) % PERIOD, (want - got + PERIOD) % PERIOD),
        `idle ${i}`,
      ).toBe(0);
    });
    result.cuts.speaking.forEach((target, i) => {
      const want = phaseOf(i + 1, speakingStart, SPEAKING_PHASE);
      const got = phaseOf(target, idleStart, 0);
      expect(
        Math.min((got - want + PERIOD) % PERIOD, (want - got + PERIOD) % PERIOD),
        `speaking ${i}`,
      ).toBe(0);
    });
  });

  it('meets the goals: chosen cuts ≤ 2 steps and at most half the naive same-index cut', () => {
    for (const name of ['idle', 'speaking'] as const) {
      const cut = result.analysis.cuts[name];
      expect(cut.medianRatio, name).toBeLessThanOrEqual(2);
      expect(cut.medianRatio, name).toBeLessThanOrEqual(0.5 * cut.naiveMedianRatio);
    }
  });

  it('keeps the whole clip when trimming is off', () => {
    const off = analyzeLoops(
      { idle: result.cuts.idle.map(() => new Float32Array(16)), speaking: [new Float32Array(16)] },
      { trim: false, minLoopFraction: 0.6 },
    );
    expect(off.analysis.seams.idle).toMatchObject({ start: 0, end: result.cuts.idle.length - 1 });
  });
});
