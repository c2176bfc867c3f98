import { describe, expect, it } from 'vitest';
import { splitPortRange } from './portRange.js';

describe('splitPortRange', () => {
  it('cuts the range into consecutive parts that cover it exactly once', () => {
    const parts = [0, 1, 2].map((i) => splitPortRange([40000, 40999], 3, i)!);
    expect(parts).toEqual([
      [40000, 40333],
      [40334, 40666],
      [40667, 40999],
    ]);
  });
  it('one worker keeps the whole range; no range stays no range', () => {
    expect(splitPortRange([5000, 5009], 1, 0)).toEqual([5000, 5009]);
    expect(splitPortRange(undefined, 4, 2)).toBeUndefined();
  });
  it('refuses a range smaller than the number of workers, saying how to fix it', () => {
    expect(() => splitPortRange([5000, 5001], 4, 0)).toThrow(/2 ports for 4 media workers/);
  });
});
