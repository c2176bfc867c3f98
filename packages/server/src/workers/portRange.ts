import { availableParallelism } from 'node:os';

/** The number of media workers for setting `workers`: `auto` is one per core. */
export function workerCount(setting: 'auto' | number): number {
  return setting === 'auto' ? Math.max(1, availableParallelism()) : setting;
}

/**
 * Worker `index`'s part of `ice.portRange`: the range is cut into `count` consecutive parts (the
 * first ones one port larger when it does not divide), so a firewall still opens one range and
 * no two workers bind the same port. A range smaller than the worker count is refused at start.
 */
export function splitPortRange(
  range: [number, number] | undefined,
  count: number,
  index: number,
): [number, number] | undefined {
  if (!range) return undefined;
  const [low, high] = range;
  const size = high - low + 1;
  if (size < count) {
    throw new RangeError(
      `ice.portRange [${low}, ${high}] has ${size} ports for ${count} media workers: widen it or set workers to at most ${size}`,
    );
  }
  const base = Math.floor(size / count);
  const extra = size % count;
  const start = low + index * base + Math.min(index, extra);
  return [start, start + base - 1 + (index < extra ? 1 : 0)];
}
