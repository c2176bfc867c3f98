/**
 * Naturalness of the loops (issue "Natural loops"): per avatar, the seam jump and the
 * idle↔speaking cut jumps, as ratios to the median distance between consecutive frames, for the
 * default avatar and for generated pendulum clips whose best seam and cuts are known.
 * Goals: seam ≤ 1.5; chosen cuts ≤ 2 and at most half the naive same-index cut.
 * Run: npx tsx bench/naturalness.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePendulumClip } from '@avatar-server/testkit';
import { parseConfig } from '../packages/server/src/config/load.js';
import { analyzeLoops } from '../packages/server/src/media/analysis/analyzeLoops.js';
import { thumbnails } from '../packages/server/src/media/analysis/thumbnails.js';
import { decodeClip } from '../packages/server/src/media/decodeClip.js';
import { findFfmpeg } from '../packages/server/src/media/findFfmpeg.js';

const round = (n: number) => Math.round(n * 100) / 100;

async function analyze(name: string, clips: { idle: string; speaking: string }, work: string) {
  const config = parseConfig({});
  const ffmpegPath = findFfmpeg().path;
  const thumbs = { idle: [] as Float32Array[], speaking: [] as Float32Array[] };
  for (const loop of ['idle', 'speaking'] as const) {
    const frames = await decodeClip({
      ffmpegPath,
      input: clips[loop],
      output: join(work, `${name}-${loop}.yuv`),
      size: config.size,
      fps: config.fps,
    });
    thumbs[loop] = await thumbnails(frames);
  }
  const { analysis } = analyzeLoops(thumbs, {
    trim: config.loopTrim,
    minLoopFraction: config.loopMinFraction,
  });
  const row = (loop: 'idle' | 'speaking') => ({
    seam: `${analysis.seams[loop].start}–${analysis.seams[loop].end} of ${thumbs[loop].length}`,
    seamRatio: round(analysis.seams[loop].ratio),
    untrimmedSeamRatio: round(analysis.seams[loop].untrimmedRatio),
    cutRatioMedian: round(analysis.cuts[loop].medianRatio),
    cutRatioP90: round(analysis.cuts[loop].p90Ratio),
    naiveCutRatioMedian: round(analysis.cuts[loop].naiveMedianRatio),
  });
  return {
    avatar: name,
    analysisMs: Math.round(analysis.analysisMs),
    idle: row('idle'),
    speaking: row('speaking'),
  };
}

export async function benchNaturalness() {
  const work = mkdtempSync(join(tmpdir(), 'bench-natural-'));
  try {
    const results = [
      await analyze(
        'default',
        { idle: 'videos/default/idle.mp4', speaking: 'videos/default/speaking.mp4' },
        work,
      ),
    ];
    const idle = join(work, 'pendulum-idle.mp4');
    const speaking = join(work, 'pendulum-speaking.mp4');
    await makePendulumClip({ path: idle, frames: 110, period: 40, size: 256 });
    await makePendulumClip({ path: speaking, frames: 90, period: 40, phase: 10, size: 256 });
    results.push(await analyze('pendulum (test clips)', { idle, speaking }, work));
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchNaturalness(), null, 2));
}
