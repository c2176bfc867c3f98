/**
 * Frame distances and transition costs (Schödl, Szeliski, Salesin, Essa: "Video Textures",
 * SIGGRAPH 2000). D[i][j] is the squared L2 distance between thumbnails; a transition "after
 * frame i of A, show frame j of B" costs the distance between the frames that would follow
 * naturally and the ones we show instead, over a short window with binomial weights, so a cut
 * must also preserve motion, not just match one still picture.
 */

/** Mean squared difference between every frame of `a` and every frame of `b` (row i = a[i]). */
export function distanceMatrix(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
): Float64Array[] {
  const rows: Float64Array[] = [];
  for (const x of a) {
    const row = new Float64Array(b.length);
    for (let j = 0; j < b.length; j++) {
      const y = b[j]!;
      let sum = 0;
      for (let k = 0; k < x.length; k++) {
        const d = x[k]! - y[k]!;
        sum += d * d;
      }
      row[j] = sum / x.length;
    }
    rows.push(row);
  }
  return rows;
}

/** Binomial weights [1,3,3,1]/8 over offsets −2…+1: two frames before the cut, two after. */
const WEIGHTS = [1 / 8, 3 / 8, 3 / 8, 1 / 8];
const OFFSETS = [-2, -1, 0, 1];

/**
 * Cost of showing frame j (of the target loop) right after frame i (of the source loop): the
 * weighted distance between the source's continuation i+1+k and the target's j+k. Indices wrap
 * around each loop, since both are played as loops.
 */
export function transitionCost(D: readonly Float64Array[], i: number, j: number): number {
  const n = D.length;
  const m = D[0]!.length;
  let cost = 0;
  for (let w = 0; w < WEIGHTS.length; w++) {
    const k = OFFSETS[w]!;
    const row = D[(((i + 1 + k) % n) + n) % n]!;
    cost += WEIGHTS[w]! * row[(((j + k) % m) + m) % m]!;
  }
  return cost;
}

/** The typical cost of natural playback (frame i, then i+1) within one loop: the yardstick. */
export function medianStepCost(D: readonly Float64Array[]): number {
  const steps: number[] = [];
  for (let i = 0; i + 1 < D.length; i++) steps.push(D[i + 1]![i]!);
  steps.sort((x, y) => x - y);
  // A still clip has zero steps; keep ratios finite.
  return Math.max(steps[Math.floor(steps.length / 2)] ?? 0, 1e-6);
}
