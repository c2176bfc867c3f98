import type { AvatarAnalysis, LoopName } from '../compiledAvatar.js';
import { buildCutTable, median } from './cutTable.js';
import { distanceMatrix } from './distances.js';
import { findSeam } from './loopSeam.js';

export type LoopAnalysis = {
  analysis: Omit<AvatarAnalysis, 'warnings'>;
  cuts: Record<LoopName, number[]>;
  cutRatios: Record<LoopName, number[]>;
};

export type AnalysisOptions = {
  /** Look for a better loop span than the whole clip. */
  trim: boolean;
  /** Shortest loop, as a fraction of its clip. */
  minLoopFraction: number;
};

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

const submatrix = (D: readonly Float64Array[], start: number, end: number) =>
  D.slice(start, end + 1).map((row) => row.subarray(start, end + 1));

/**
 * The naturalness analysis of an avatar from the thumbnails of its two clips: each loop's seam
 * (which span of the clip to loop), then, on those spans, for every frame of each loop the best
 * frame of the other loop to cut to.
 */
export function analyzeLoops(
  thumbs: Record<LoopName, Float32Array[]>,
  options: AnalysisOptions,
): LoopAnalysis {
  const started = performance.now();
  const seams = {} as AvatarAnalysis['seams'];
  const spans = {} as Record<LoopName, Float32Array[]>;
  const self = {} as Record<LoopName, Float64Array[]>;
  for (const name of ['idle', 'speaking'] as const) {
    const D = distanceMatrix(thumbs[name], thumbs[name]);
    const seam = findSeam(D, {
      enabled: options.trim,
      minFrames: Math.ceil(options.minLoopFraction * thumbs[name].length),
    });
    seams[name] = seam;
    spans[name] = thumbs[name].slice(seam.start, seam.end + 1);
    self[name] = submatrix(D, seam.start, seam.end);
  }
  const cross = distanceMatrix(spans.idle, spans.speaking);
  const crossBack = spans.speaking.map((_, j) => Float64Array.from(cross, (row) => row[j]!));
  const cuts = {} as Record<LoopName, number[]>;
  const cutRatios = {} as Record<LoopName, number[]>;
  const cutScores = {} as AvatarAnalysis['cuts'];
  for (const name of ['idle', 'speaking'] as const) {
    const other = name === 'idle' ? 'speaking' : 'idle';
    const offset = seams[name].start - seams[other].start;
    const table = buildCutTable(name === 'idle' ? cross : crossBack, self[name], offset);
    cuts[name] = table.target;
    cutRatios[name] = table.ratio;
    cutScores[name] = {
      medianRatio: median(table.ratio),
      p90Ratio: percentile(table.ratio, 0.9),
      naiveMedianRatio: median(table.naiveRatio),
    };
  }
  return {
    analysis: { seams, cuts: cutScores, analysisMs: performance.now() - started },
    cuts,
    cutRatios,
  };
}
