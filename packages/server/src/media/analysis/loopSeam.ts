import { medianStepCost } from './distances.js';

/** The span of a clip that loops best, and how visible its wrap-around is. */
export type Seam = {
  /** First frame of the loop in the clip. */
  start: number;
  /** Last frame of the loop in the clip (inclusive). */
  end: number;
  /** Jump at the wrap (last frame → first frame) over the median step between consecutive frames. */
  ratio: number;
  /** The same ratio for the untrimmed clip (its last frame → its first), for comparison. */
  untrimmedRatio: number;
};

/** Motion-preserving cost of playing `start` right after `end` within one clip (see distances.ts). */
function wrapCost(D: readonly Float64Array[], start: number, end: number): number {
  const n = D.length;
  // After the jump the viewer sees …, end-1, end, start, start+1; natural playback would show
  // end+1 ≈ start and end ≈ start-1. Compare only frames that exist in the clip.
  const pairs: Array<[number, number, number]> = [
    [end - 1, start - 2, 1],
    [end, start - 1, 3],
    [end + 1, start, 3],
    [end + 2, start + 1, 1],
  ];
  let cost = 0;
  let weight = 0;
  for (const [a, b, w] of pairs) {
    if (a < 0 || b < 0 || a >= n || b >= n) continue;
    cost += w * D[a]![b]!;
    weight += w;
  }
  return weight > 0 ? cost / weight : D[end]![start]!;
}

/**
 * Chooses the loop span (start, end) of a clip: the smallest wrap-around jump, with a penalty for
 * cutting the clip short so that a long loop wins unless a shorter one is clearly smoother.
 * O(N²) over spans of at least `minFrames` frames.
 */
export function findSeam(
  D: readonly Float64Array[],
  options: { minFrames: number; enabled: boolean },
): Seam {
  const n = D.length;
  const step = medianStepCost(D);
  const untrimmedRatio = D[n - 1]![0]! / step;
  if (!options.enabled || n < 4)
    return { start: 0, end: n - 1, ratio: untrimmedRatio, untrimmedRatio };
  const minFrames = Math.min(n, Math.max(2, options.minFrames));
  let best = { start: 0, end: n - 1, score: Number.POSITIVE_INFINITY };
  for (let start = 0; start + minFrames <= n; start++) {
    for (let end = start + minFrames - 1; end < n; end++) {
      const length = end - start + 1;
      const score = wrapCost(D, start, end) / step + 0.5 * (1 - length / n);
      if (score < best.score) best = { start, end, score };
    }
  }
  return {
    start: best.start,
    end: best.end,
    ratio: D[best.end]![best.start]! / step,
    untrimmedRatio,
  };
}
