import { describe, expect, it } from 'vitest';
import { CompileMeter, type CompileProgress } from './compileProgress.js';

describe('compile progress', () => {
  it('is the work done over the work planned, by cost', () => {
    const seen: CompileProgress[] = [];
    const meter = new CompileMeter((p) => seen.push(p));
    meter.plan('decode', 100, 0.5); // 50
    meter.plan('encode', 150, 1); // 150
    meter.done('decode', 100);
    expect(meter.progress.progress).toBeCloseTo(0.25);
    meter.phase('encoding', 'idle');
    meter.done('encode', 75);
    expect(meter.progress).toMatchObject({ phase: 'encoding', loop: 'idle' });
    expect(meter.progress.progress).toBeCloseTo(125 / 200);
    meter.finish('encode');
    expect(meter.progress.progress).toBe(1);
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });

  it('never reports less than before, even when a plan grows', () => {
    const meter = new CompileMeter(() => {});
    meter.plan('encode', 100, 1);
    meter.done('encode', 50);
    expect(meter.progress.progress).toBeCloseTo(0.5);
    meter.plan('encode', 110, 1);
    expect(meter.progress.progress).toBeCloseTo(0.5);
    meter.plan('encode', 60, 1); // a shorter loop span: the share done jumps forward
    expect(meter.progress.progress).toBeCloseTo(50 / 60);
  });

  it('gives no time left before the rate can tell', () => {
    const meter = new CompileMeter(() => {});
    meter.plan('encode', 100, 1);
    meter.done('encode', 50);
    expect(meter.progress.etaSeconds).toBeUndefined(); // just started: too early to extrapolate
  });
});
