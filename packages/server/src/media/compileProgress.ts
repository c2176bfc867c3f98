import type { LoopName } from './compiledAvatar.js';

export type CompilePhase = 'reading' | 'decoding' | 'analysing' | 'encoding';

/** Where a compile is: the share of its work done (0–1) and, once it can be told, the time left. */
export type CompileProgress = {
  phase: CompilePhase;
  loop?: LoopName | undefined;
  /** Work done over work planned, 0–1. */
  progress: number;
  /** Seconds left at the rate of the work done so far; absent until that rate is known. */
  etaSeconds?: number | undefined;
};

/**
 * What each step costs, in frames encoded at the same size (the unit of the largest step), as
 * measured on the default avatar (docs/benchmarks.md, "Compile progress"). They need only be
 * roughly right: progress counts work really done (frames ffmpeg reports, steps finished), and the
 * time left is extrapolated from the rate observed so far, so an error here bends the estimate a
 * little early on and not at all at the end. Measured at 512 px with x264 `veryfast`; for other
 * sizes the analysis (whose cost does not grow with the size) is scaled by (512 / size)², which
 * over-weights it well below 512 px (a 128 px encode is not 16× cheaper a frame). Presets are not
 * modelled: with `ultrafast` the encode takes a smaller share of the time than of the bar.
 */
export const STEP_COST = {
  /** Reading a clip (its header and a full decode pass), per frame of the clip. */
  read: 0.55,
  /** Decoding, scaling and cropping to the square, per frame. */
  decode: 0.55,
  /** Thumbnails of the decoded frames, per frame. */
  thumbnail: 0.7,
  /**
   * The seam and cut analysis compares every pair of frames on 64×64 thumbnails, whatever the size:
   * per pair of frames at 512 px, scaled by (512 / size)² like the encoder's cost.
   */
  analysisPair: 0.0045,
  /** One frame through the encoder (main chain and switch-in chains alike). */
  encode: 1,
};

/** Before this share of the work and this many seconds, the rate says too little for an estimate. */
const ETA_MIN_PROGRESS = 0.1;
const ETA_MIN_MS = 3000;

/**
 * Counts the work of one compile in steps (reading, decoding, thumbnails, analysis and encoding of
 * each loop), each planned with a number of units and a cost per unit, and reports the share done.
 * A step may be planned again when its size becomes known (the frames decoded, the loop span after
 * the analysis); the share reported never moves back, so plan the whole compile before any step
 * reports work done.
 */
export class CompileMeter {
  #steps = new Map<string, { planned: number; done: number; cost: number }>();
  #started = performance.now();
  #phase: CompilePhase = 'reading';
  /** Never report less than before: a plan corrected upward by a frame must not move it back. */
  #highest = 0;
  #loop: LoopName | undefined;
  #onChange: (progress: CompileProgress) => void;

  constructor(onChange: (progress: CompileProgress) => void) {
    this.#onChange = onChange;
  }

  /** Plans (or re-plans) a step: `units` of work at `cost` each; work already done is kept. */
  plan(step: string, units: number, cost: number) {
    const known = this.#steps.get(step);
    this.#steps.set(step, { planned: units, done: Math.min(known?.done ?? 0, units), cost });
  }

  /** The step has done `units` so far (ffmpeg's frame count, say). */
  done(step: string, units: number) {
    const known = this.#steps.get(step);
    if (!known) return;
    known.done = Math.min(units, known.planned);
    this.#report();
  }

  finish(step: string) {
    const known = this.#steps.get(step);
    if (known) this.done(step, known.planned);
  }

  phase(phase: CompilePhase, loop?: LoopName) {
    this.#phase = phase;
    this.#loop = loop;
    this.#report();
  }

  get progress(): CompileProgress {
    let planned = 0;
    let done = 0;
    for (const step of this.#steps.values()) {
      planned += step.planned * step.cost;
      done += step.done * step.cost;
    }
    const progress = Math.max(this.#highest, planned > 0 ? Math.min(1, done / planned) : 0);
    this.#highest = progress;
    const elapsed = performance.now() - this.#started;
    const etaSeconds =
      progress >= ETA_MIN_PROGRESS && progress < 1 && elapsed >= ETA_MIN_MS
        ? Math.ceil(((1 - progress) / progress) * (elapsed / 1000))
        : undefined;
    return { phase: this.#phase, loop: this.#loop, progress, etaSeconds };
  }

  #report() {
    this.#onChange(this.progress);
  }
}
