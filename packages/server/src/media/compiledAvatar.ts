import type { AccessUnit } from './annexB.js';
import type { EncoderKind } from './encoderArgs.js';

/** The two loops of an avatar. */
export type LoopName = 'idle' | 'speaking';
export const LOOP_NAMES: readonly LoopName[] = ['idle', 'speaking'];

/** One loop compiled so that it can be entered at any frame (see entryPlan.ts). */
export type CompiledLoop = {
  frameCount: number;
  keyframeInterval: number;
  /** main[i] is frame i of the main chain; an IDR when i % keyframeInterval == 0. */
  main: AccessUnit[];
  /**
   * chains[j] starts with an IDR of frame j and runs up to (not including) the next main-chain
   * keyframe. Empty when frame j is a main-chain keyframe: the main chain is its entry point.
   */
  chains: AccessUnit[][];
};

/** Everything the packet path needs to serve an avatar, and nothing it does not. */
export type CompiledAvatar = {
  id: string;
  size: number;
  fps: number;
  encoder: EncoderKind;
  /** The single SPS and PPS every IDR of both loops shares (asserted at compile time). */
  sps: Uint8Array;
  pps: Uint8Array;
  loops: Record<LoopName, CompiledLoop>;
  /** cuts[loop][i]: the frame of the other loop to show right after frame i of `loop`. */
  cuts: Record<LoopName, number[]>;
  /** cutRatios[loop][i]: how visible that cut is (its jump over the loop's median step). */
  cutRatios: Record<LoopName, number[]>;
  /** Seam and cut scores, for the compile log, /avatars and benchmarks. */
  analysis: AvatarAnalysis;
};

/** The naturalness figures of an avatar, as ratios to the median step between frames. */
export type AvatarAnalysis = {
  seams: Record<LoopName, { start: number; end: number; ratio: number; untrimmedRatio: number }>;
  cuts: Record<LoopName, { medianRatio: number; p90Ratio: number; naiveMedianRatio: number }>;
  analysisMs: number;
  /** What to change about the clips (outside the recommended length, frame rate or shape). */
  warnings: string[];
};

/** The other loop: where a speaking change goes from `loop`. */
export function otherLoop(loop: LoopName): LoopName {
  return loop === 'idle' ? 'speaking' : 'idle';
}

/** Bytes of coded video held for an avatar (slices only). */
export function compiledBytes(avatar: CompiledAvatar): number {
  let total = avatar.sps.length + avatar.pps.length;
  for (const name of LOOP_NAMES) {
    const loop = avatar.loops[name];
    for (const au of [...loop.main, ...loop.chains.flat()]) {
      for (const s of au.slices) total += s.length;
    }
  }
  return total;
}
