import type { AccessUnit } from './annexB.js';
import { parseAnnexB } from './annexB.js';
import type { CompiledLoop } from './compiledAvatar.js';
import { type DecodedFrames, openFrames } from './decodeClip.js';
import { type EncoderKind, type EncodeSettings, encoderArgs } from './encoderArgs.js';
import { nextMainKeyframe, planEntries } from './entryPlan.js';
import { runFfmpeg } from './runFfmpeg.js';

/** The compiler produced something the packet path could not splice safely. */
export class CompileError extends Error {
  override name = 'CompileError';
}

export type LoopEncodeResult = {
  loop: CompiledLoop;
  sps: Uint8Array[];
  pps: Uint8Array[];
  encodedFrames: number;
};

/**
 * Encodes one decoded loop into its main chain and every switch-in chain with a single encoder
 * run, then checks the output frame by frame: the right number of pictures, an IDR exactly where
 * one was forced (a missing one would make a switch undecodable), and no IDR anywhere else (it
 * would mean the encoder ignored our settings, so nothing else about its output can be trusted).
 */
export async function compileLoop(opts: {
  ffmpegPath: string;
  encoder: EncoderKind;
  settings: EncodeSettings;
  frames: DecodedFrames;
  keyframeInterval: number;
  /** Frames encoded so far and frames planned, from ffmpeg's `-progress` (about twice a second). */
  onProgress?: (done: number, total: number) => void;
}): Promise<LoopEncodeResult> {
  const { frames, keyframeInterval } = opts;
  const plan = planEntries(frames.count, keyframeInterval);
  const args = encoderArgs(opts.encoder, opts.settings, plan.keyframePositions);
  const reader = await openFrames(frames);
  const total = plan.sequence.length;
  const onProgress = opts.onProgress;
  const run = runFfmpeg(
    opts.ffmpegPath,
    args,
    `encoding with ${opts.encoder}`,
    onProgress ? { onFrames: (done) => onProgress(Math.min(done, total), total) } : {},
  );
  const out: Buffer[] = [];
  run.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  try {
    for (let pos = 0; pos < total; pos++) {
      await run.write(await reader.read(plan.sequence[pos]!));
    }
    run.end();
    await run.done;
  } catch (err) {
    run.kill();
    await run.done.catch(() => {});
    throw err;
  } finally {
    await reader.close();
  }

  const parsed = parseAnnexB(Buffer.concat(out));
  const aus = parsed.accessUnits;
  if (aus.length !== plan.sequence.length) {
    throw new CompileError(
      `encoder returned ${aus.length} pictures for ${plan.sequence.length} frames`,
    );
  }
  const forced = new Set(plan.keyframePositions);
  aus.forEach((au, pos) => {
    if (au.keyframe !== forced.has(pos)) {
      throw new CompileError(
        `picture ${pos} is ${au.keyframe ? 'an IDR' : 'not an IDR'} but ${forced.has(pos) ? 'one was forced there' : 'none was planned'}`,
      );
    }
  });

  const main = aus.slice(0, frames.count);
  const chains: AccessUnit[][] = [];
  for (let j = 0; j < frames.count; j++) {
    if (j % keyframeInterval === 0) {
      chains.push([]);
      continue;
    }
    const start = plan.chainStart[j]!;
    const end = start + nextMainKeyframe(j, keyframeInterval, frames.count) - j;
    chains.push(aus.slice(start, end));
  }
  return {
    loop: { frameCount: frames.count, keyframeInterval, main, chains },
    sps: parsed.sps,
    pps: parsed.pps,
    encodedFrames: plan.sequence.length,
  };
}
