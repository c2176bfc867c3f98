/** Percentile of a list of numbers (nearest-rank), for benchmark summaries. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summary(values: readonly number[]) {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    max: round(Math.max(...values)),
  };
}

/** The machine a figure was measured on, for the record. */
export function machine() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
      ?.hardwareConcurrency,
    platform: `${process.platform}-${process.arch}`,
  };
}
