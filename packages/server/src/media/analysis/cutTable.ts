import { medianStepCost, transitionCost } from './distances.js';

/**
 * For every frame i of a source loop, the frame of the target loop to show right after it, and
 * how visible that cut is. The runtime switches with a table look-up.
 */
export type CutTable = {
  /** target[i]: frame of the target loop to show after frame i of the source loop. */
  target: number[];
  /** ratio[i]: the jump of that cut over the source loop's median step between frames. */
  ratio: number[];
  /**
   * The same ratio for the naive cut: the target frame at the same time in the recordings (the
   * frame after i, counted from each clip's start), what a switch without analysis shows.
   */
  naiveRatio: number[];
};

/**
 * D is source × target (row i = source frame i); Dsource is the source loop against itself;
 * `clipOffset` is where the source loop starts in its clip minus where the target loop starts in
 * its clip (both loops may be spans of their clips), to find the naive same-time frame.
 */
export function buildCutTable(
  D: readonly Float64Array[],
  Dsource: readonly Float64Array[],
  clipOffset = 0,
): CutTable {
  const step = medianStepCost(Dsource);
  const m = D[0]!.length;
  const target: number[] = [];
  const ratio: number[] = [];
  const naiveRatio: number[] = [];
  for (let i = 0; i < D.length; i++) {
    let best = 0;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let j = 0; j < m; j++) {
      const cost = transitionCost(D, i, j);
      if (cost < bestCost) {
        bestCost = cost;
        best = j;
      }
    }
    target.push(best);
    ratio.push(D[i]![best]! / step);
    naiveRatio.push(D[i]![(((i + 1 + clipOffset) % m) + m) % m]! / step);
  }
  return { target, ratio, naiveRatio };
}

/** Median of a list (the summary the compile log and /avatars report). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
