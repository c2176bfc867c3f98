import { describe, expect, it } from 'vitest';
import { carriesSwitch, type Shown, shownAt } from '../src/frames.js';

describe('shownAt', () => {
  it('is expectedDisplayTime when the frame was decoded before that v-sync', () => {
    const meta = { expectedDisplayTime: 1016.7, receiveTime: 1001, processingDuration: 0.004 };
    expect(shownAt(1000, meta)).toBe(1016.7);
  });

  it('is never before the frame was received and decoded (WICG/video-rvfc#93)', () => {
    // What Chromium reported once on loopback: the v-sync estimate 1.3 ms before the packets.
    const meta = { expectedDisplayTime: 999.7, receiveTime: 1001, processingDuration: 0.002 };
    expect(shownAt(998, meta)).toBeCloseTo(1003, 6);
  });

  it('falls back to the callback time without expectedDisplayTime or receiveTime', () => {
    expect(shownAt(1234, {})).toBe(1234);
    expect(shownAt(1234, { expectedDisplayTime: 1250 })).toBe(1250);
  });
});

describe('switch latency from the frames shown', () => {
  /** The SDK's measure: display time of the last frame that can carry the switch, minus t0. */
  const latency = (frames: Shown[], t0: number, tc: number) => {
    const best = frames.filter((f) => carriesSwitch(f, t0, tc)).pop();
    return best && best.shown - t0;
  };

  it('picks the last frame whose packets arrived between request and confirmation', () => {
    const frames = [
      { recv: 990, shown: 1005 }, // the old loop, received before the request
      { recv: 1001.2, shown: 1020 }, // the switch frame
      { recv: 1041, shown: 1060 }, // the next tick: after the confirmation window
    ];
    expect(latency(frames, 1000, 1001.5)).toBe(20);
  });

  it('is never negative, even when the v-sync estimate precedes the request', () => {
    // Request at t0, switch frame received 0.6 ms later, v-sync estimate 0.3 ms before t0.
    for (const [t0, recv, expected, decodeS] of [
      [5000, 5000.6, 4999.7, 0.0015],
      [5000, 5000, 4990, 0],
      [7000.25, 7000.3, 6999.95, 0.001],
    ] as const) {
      const frame = {
        recv,
        shown: shownAt(expected, {
          expectedDisplayTime: expected,
          receiveTime: recv,
          processingDuration: decodeS,
        }),
      };
      const ms = latency([frame], t0, recv + 0.5);
      expect(ms).toBeGreaterThanOrEqual(0);
    }
  });
});
