import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The committed default avatar shows speech on its own: measured on the decoded clips, not on the
 * generator's timeline. A frame counts as "mouth open" when the mouth area shows the dark inside
 * of the mouth (luma < 80 on ≥ 100 px); a closed mouth is a lip line, which has none.
 */
const FPS = 25;
const CROP = { w: 100, h: 70, x: 206, y: 280 }; // the mouth and its travel with the head and jaw
const DARK = 80;
const OPEN_PX = 100;

function darkPixelsPerFrame(name: string): number[] {
  const clip = fileURLToPath(new URL(`default/${name}`, import.meta.url));
  const { w, h, x, y } = CROP;
  const out = spawnSync(
    process.env.FFMPEG_PATH || 'ffmpeg',
    [
      '-loglevel',
      'error',
      '-i',
      clip,
      '-vf',
      `crop=${w}:${h}:${x}:${y},format=gray`,
      '-f',
      'rawvideo',
      '-',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  expect(out.status, String(out.stderr)).toBe(0);
  const frame = w * h;
  const counts: number[] = [];
  for (let f = 0; f < out.stdout.length / frame; f++) {
    let dark = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) if (out.stdout[i]! < DARK) dark++;
    counts.push(dark);
  }
  return counts;
}

/** Fraction of frames with the mouth open, and the syllable rate from the median onset spacing. */
function mouthRhythm(dark: number[]) {
  const open = dark.map((d) => d >= OPEN_PX);
  const onsets = open.flatMap((o, i) =>
    o && !open[(i - 1 + open.length) % open.length] ? [i] : [],
  );
  const gaps = onsets.slice(1).map((f, i) => f - onsets[i]!);
  gaps.sort((a, b) => a - b);
  const medianGap = gaps[Math.floor(gaps.length / 2)];
  return {
    openFraction: open.filter(Boolean).length / open.length,
    onsetsPerSecond: (onsets.length * FPS) / open.length,
    syllableHz: medianGap ? FPS / medianGap : 0,
  };
}

describe('default avatar clips (videos/default)', () => {
  it('speaking: the mouth opens and closes at a syllable rhythm, open on a third of the frames', () => {
    const rhythm = mouthRhythm(darkPixelsPerFrame('speaking.mp4'));
    console.log('speaking.mp4 mouth:', rhythm);
    expect(rhythm.openFraction).toBeGreaterThanOrEqual(1 / 3);
    expect(rhythm.syllableHz).toBeGreaterThanOrEqual(3);
    expect(rhythm.syllableHz).toBeLessThanOrEqual(6);
  });

  it('idle: the mouth stays closed', () => {
    const rhythm = mouthRhythm(darkPixelsPerFrame('idle.mp4'));
    expect(rhythm.openFraction).toBe(0);
  });
});
