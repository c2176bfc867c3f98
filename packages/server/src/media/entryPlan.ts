/**
 * Which frames to encode so that a viewer can enter a loop at any frame.
 *
 * The loop's *main chain* has an IDR every G frames. For every other frame j there is a
 * *switch-in chain*: an IDR at j, then P-frames for j+1 … up to the main chain's next keyframe,
 * where the cursor rejoins the main chain. (Measured against G rotated full encodes in
 * docs/entry-points.md: about half the memory for the same switch-at-any-frame property.)
 *
 * All chains are encoded in the same ffmpeg run as the main chain, one after another, with an IDR
 * forced at each chain's start, so the whole loop costs one encoder process.
 */

export type EntryPlan = {
  frameCount: number;
  keyframeInterval: number;
  /** Loop frame index of each encoded frame, in encode order: main chain, then the chains. */
  sequence: number[];
  /** Positions in `sequence` where an IDR is forced. */
  keyframePositions: number[];
  /** For frame j: the position in `sequence` where its switch-in chain starts (main if j % G == 0). */
  chainStart: number[];
};

/** First main-chain keyframe strictly after frame j (the loop's length if it wraps to frame 0). */
export function nextMainKeyframe(j: number, keyframeInterval: number, frameCount: number): number {
  return Math.min((Math.floor(j / keyframeInterval) + 1) * keyframeInterval, frameCount);
}

export function planEntries(frameCount: number, keyframeInterval: number): EntryPlan {
  const sequence: number[] = [];
  const keyframePositions: number[] = [];
  const chainStart: number[] = [];
  for (let i = 0; i < frameCount; i++) {
    if (i % keyframeInterval === 0) keyframePositions.push(sequence.length);
    chainStart.push(sequence.length);
    sequence.push(i);
  }
  for (let j = 0; j < frameCount; j++) {
    if (j % keyframeInterval === 0) continue;
    chainStart[j] = sequence.length;
    keyframePositions.push(sequence.length);
    const end = nextMainKeyframe(j, keyframeInterval, frameCount);
    for (let f = j; f < end; f++) sequence.push(f);
  }
  return { frameCount, keyframeInterval, sequence, keyframePositions, chainStart };
}
