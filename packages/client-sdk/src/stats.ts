import type { AvatarState, AvatarStats, LatencyStats } from './types.js';

/** The p-th percentile (0..100, nearest rank) of `values`; undefined for none. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** last, p50 and p95 of the recorded switch latencies. */
export function latencySummary(values: number[]): LatencyStats {
  return {
    last: values[values.length - 1],
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    count: values.length,
  };
}

/** Reads the receiver's counters from RTCPeerConnection.getStats(). */
export async function peerStats(
  pc: RTCPeerConnection | undefined,
  base: {
    state: AvatarState;
    timeToFirstFrameMs?: number | undefined;
    switchLatency: LatencyStats;
  },
): Promise<AvatarStats> {
  const stats: AvatarStats = { ...base, framesDecoded: 0, framesDropped: 0 };
  const report = await pc?.getStats().catch(() => undefined);
  report?.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      stats.framesDecoded = s.framesDecoded ?? 0;
      stats.framesDropped = s.framesDropped ?? 0;
      stats.framesPerSecond = s.framesPerSecond;
      if (s.jitterBufferEmittedCount) {
        stats.jitterBufferMs = (s.jitterBufferDelay / s.jitterBufferEmittedCount) * 1000;
      }
      if (s.framesDecoded) stats.decodeMs = (s.totalDecodeTime / s.framesDecoded) * 1000;
    }
    if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
      stats.roundTripTimeMs = s.currentRoundTripTime * 1000;
    }
  });
  return stats;
}
