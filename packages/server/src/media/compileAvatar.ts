import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PROGRESS_MESSAGE } from '../lib/prettyLog.js';
import { type AnalysisOptions, analyzeLoops } from './analysis/analyzeLoops.js';
import { thumbnails } from './analysis/thumbnails.js';
import { cacheKey, readCachedAvatar, writeCachedAvatar } from './avatarCache.js';
import {
  type AvatarAnalysis,
  type CompiledAvatar,
  LOOP_NAMES,
  type LoopName,
} from './compiledAvatar.js';
import { type CompileLock, compileTurn, type LockOptions } from './compileLock.js';
import { CompileError, compileLoop } from './compileLoop.js';
import { CompileMeter, type CompileProgress, STEP_COST } from './compileProgress.js';
import { type DecodedFrames, decodeClip, spanOf } from './decodeClip.js';
import { type EncoderKind, type EncodeSettings, encoderArgs } from './encoderArgs.js';
import { planEntries } from './entryPlan.js';
import { type ClipInfo, clipWarnings, probeClip } from './probeClip.js';
import { processFrames } from './processFrames.js';
import { ffmpegVersion } from './runFfmpeg.js';

/**
 * An avatar as found in the videos folder: its id and the two clips, and for `use_ai: true` the
 * frame processor command its frames go through before encoding.
 */
export type AvatarSource = { id: string; clips: Record<LoopName, string>; processor?: string };

export type CompileOptions = {
  ffmpegPath: string;
  encoder: EncoderKind;
  settings: EncodeSettings;
  keyframeInterval: number;
  analysis: AnalysisOptions;
  cacheDir: string;
  logger: Logger;
  /** Called as the compile advances (about twice a second while ffmpeg works). */
  onProgress?: (progress: CompileProgress) => void;
  /**
   * Take the cache folder's lock for this avatar before compiling (media/compileLock.ts), so
   * nodes sharing the folder compile it once; `owner` names this node.
   */
  lock?: Omit<LockOptions, 'logger'> | undefined;
  /**
   * A `compiling` log line (progress, time left) at most this often: a few seconds for JSON logs,
   * less for the redrawn bar of a terminal. Default 5000.
   */
  progressLogMs?: number;
};

/**
 * Progress to `onProgress` every time, to the log at most every `everyMs` (as PROGRESS_MESSAGE
 * lines, which lib/prettyLog.ts draws as a bar in a terminal).
 */
function reportProgress(log: Logger, opts: CompileOptions) {
  const everyMs = opts.progressLogMs ?? 5000;
  let lastLog = performance.now();
  let lastPhase = '';
  return (p: CompileProgress) => {
    opts.onProgress?.(p);
    const phase = `${p.phase} ${p.loop ?? ''}`;
    if (phase !== lastPhase) {
      // Where the time goes (the step costs of compileProgress.ts come from these lines).
      lastPhase = phase;
      log.debug({ phase: p.phase, loop: p.loop, progress: p.progress }, 'compile phase');
    }
    const now = performance.now();
    if (now - lastLog < everyMs) return;
    lastLog = now;
    log.info(
      {
        phase: p.phase,
        ...(p.loop ? { loop: p.loop } : {}),
        progress: Math.round(p.progress * 1000) / 1000,
        ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}),
      },
      PROGRESS_MESSAGE,
    );
  };
}

/** Frames a clip gives at `fps` (its duration times the frame rate), known before decoding it. */
const expectedFrames = (info: ClipInfo, fps: number) =>
  Math.max(1, Math.round(info.durationSeconds * fps));

/** One line per loop with its seam and cut scores (ratios to the median step between frames). */
function logAnalysis(log: Logger, analysis: Omit<AvatarAnalysis, 'warnings'>) {
  for (const name of LOOP_NAMES) {
    const seam = analysis.seams[name];
    const cut = analysis.cuts[name];
    log.info(
      {
        loop: name,
        seam: `${seam.start}–${seam.end}`,
        seamRatio: +seam.ratio.toFixed(2),
        untrimmedSeamRatio: +seam.untrimmedRatio.toFixed(2),
        cutRatio: +cut.medianRatio.toFixed(2),
        cutRatioP90: +cut.p90Ratio.toFixed(2),
        naiveCutRatio: +cut.naiveMedianRatio.toFixed(2),
      },
      'loop analysed',
    );
  }
}

export type CompileOutcome = {
  avatar: CompiledAvatar;
  fromCache: boolean;
  compileMs: number;
  encodedFrames: number;
};

function sameBytes(list: readonly Uint8Array[], what: string): Uint8Array {
  const first = list[0];
  if (!first) throw new CompileError(`the encoder emitted no ${what}`);
  for (const other of list) {
    if (Buffer.compare(first, other) !== 0) {
      throw new CompileError(
        `the encodes do not share one ${what}: splicing them would corrupt pictures (is the encoder configured identically for every loop?)`,
      );
    }
  }
  return first;
}

/**
 * Compiles an avatar's two loops, or loads them from the cache. The whole compile runs in a
 * private temporary folder that is always removed; only a finished, verified compile reaches the
 * cache.
 */
export async function compileAvatar(
  source: AvatarSource,
  opts: CompileOptions,
): Promise<CompileOutcome> {
  const started = performance.now();
  const log = opts.logger.child({ avatar: source.id });
  const clips = LOOP_NAMES.map((name) => source.clips[name]);
  const key = await cacheKey(clips, {
    analysis: opts.analysis,
    keyframeInterval: opts.keyframeInterval,
    settings: opts.settings,
    // The real command line and ffmpeg build: a change to either changes the output.
    encoderArgs: encoderArgs(opts.encoder, opts.settings, []),
    ffmpeg: await ffmpegVersion(opts.ffmpegPath),
    ...(source.processor ? { processor: source.processor } : {}),
  });
  const fromCache = (cached: CompiledAvatar): CompileOutcome => {
    log.info({ key }, 'compiled avatar loaded from cache');
    return {
      avatar: { ...cached, id: source.id },
      fromCache: true,
      compileMs: performance.now() - started,
      encodedFrames: 0,
    };
  };
  const cached = await readCachedAvatar(opts.cacheDir, key);
  if (cached) return fromCache(cached);
  let lock: CompileLock | undefined;
  if (opts.lock) {
    // A cache folder shared by several nodes: one compiles, the others wait and load.
    await mkdir(opts.cacheDir, { recursive: true });
    const turn = await compileTurn(opts.cacheDir, key, () => readCachedAvatar(opts.cacheDir, key), {
      ...opts.lock,
      logger: log,
    });
    if ('done' in turn) return fromCache(turn.done);
    lock = turn.lock;
  }
  try {
    return await compileFresh(source, opts, { key, log, started });
  } finally {
    await lock?.release();
  }
}

async function compileFresh(
  source: AvatarSource,
  opts: CompileOptions,
  { key, log, started }: { key: string; log: Logger; started: number },
): Promise<CompileOutcome> {
  const work = await mkdtemp(join(tmpdir(), 'avatar-compile-'));
  const meter = new CompileMeter(reportProgress(log, opts));
  const { size, fps } = opts.settings;
  // The analysis's cost does not grow with the size, the encoder's does.
  const pairCost = STEP_COST.analysisPair * (512 / size) ** 2;
  const planEncode = (name: LoopName, frames: number) =>
    meter.plan(`encode:${name}`, planEntries(frames, opts.keyframeInterval).sequence.length, 1);
  try {
    const loops = {} as CompiledAvatar['loops'];
    const sps: Uint8Array[] = [];
    const pps: Uint8Array[] = [];
    let encodedFrames = 0;
    const decoded = {} as Record<LoopName, DecodedFrames>;
    const thumbs = {} as Record<LoopName, Float32Array[]>;
    const warnings: string[] = [];
    // Read both clips first: their lengths give the plan of the whole compile.
    const frames = {} as Record<LoopName, number>;
    for (const name of LOOP_NAMES) {
      meter.phase('reading', name);
      const info = await probeClip(opts.ffmpegPath, source.clips[name]);
      for (const warning of clipWarnings(source.clips[name], info)) {
        log.warn({ loop: name }, warning);
        warnings.push(warning);
      }
      frames[name] = expectedFrames(info, fps);
    }
    const planAnalysis = (idle: number, speaking: number) =>
      meter.plan('analysis', idle * idle + speaking * speaking + idle * speaking, pairCost);
    // The whole plan first (a share reported never moves back), then the reading it counts as done.
    for (const name of LOOP_NAMES) {
      meter.plan(`read:${name}`, frames[name], STEP_COST.read);
      meter.plan(`decode:${name}`, frames[name], STEP_COST.decode);
      meter.plan(`thumbnails:${name}`, frames[name], STEP_COST.thumbnail);
      planEncode(name, frames[name]);
    }
    planAnalysis(frames.idle, frames.speaking);
    for (const name of LOOP_NAMES) meter.finish(`read:${name}`);
    for (const name of LOOP_NAMES) {
      meter.phase('decoding', name);
      decoded[name] = await decodeClip({
        ffmpegPath: opts.ffmpegPath,
        input: source.clips[name],
        output: join(work, `${name}.yuv`),
        size,
        fps,
        onFrames: (n) => meter.done(`decode:${name}`, n),
      });
      meter.plan(`decode:${name}`, decoded[name].count, STEP_COST.decode);
      meter.finish(`decode:${name}`);
      meter.plan(`thumbnails:${name}`, decoded[name].count, STEP_COST.thumbnail);
      planEncode(name, decoded[name].count);
      if (source.processor) {
        // use_ai: the frame processor runs once here, so serving still only forwards packets.
        const raw = decoded[name];
        decoded[name] = await processFrames({
          command: source.processor,
          frames: raw,
          output: join(work, `${name}.processed.yuv`),
          fps,
          loop: name,
          ffmpegPath: opts.ffmpegPath,
        });
        await rm(raw.path, { force: true });
      }
      meter.phase('analysing', name);
      thumbs[name] = await thumbnails(decoded[name]);
      meter.finish(`thumbnails:${name}`);
    }
    planAnalysis(decoded.idle.count, decoded.speaking.count);
    meter.phase('analysing');
    const analyzed = analyzeLoops(thumbs, opts.analysis);
    meter.finish('analysis');
    logAnalysis(log, analyzed.analysis);
    // The loops are the seams' spans: re-planned, their encodes can only shrink.
    for (const name of LOOP_NAMES) {
      const seam = analyzed.analysis.seams[name];
      planEncode(name, seam.end - seam.start + 1);
    }
    for (const name of LOOP_NAMES) {
      const seam = analyzed.analysis.seams[name];
      const span = spanOf(decoded[name], seam.start, seam.end);
      log.info({ loop: name, frames: span.count }, 'encoding every entry point');
      meter.phase('encoding', name);
      const result = await compileLoop({
        ffmpegPath: opts.ffmpegPath,
        encoder: opts.encoder,
        settings: opts.settings,
        frames: span,
        keyframeInterval: opts.keyframeInterval,
        onProgress: (done) => meter.done(`encode:${name}`, done),
      });
      meter.finish(`encode:${name}`);
      await rm(span.path, { force: true });
      loops[name] = result.loop;
      sps.push(...result.sps);
      pps.push(...result.pps);
      encodedFrames += result.encodedFrames;
    }
    const avatar: CompiledAvatar = {
      id: source.id,
      size: opts.settings.size,
      fps: opts.settings.fps,
      encoder: opts.encoder,
      sps: sameBytes(sps, 'SPS'),
      pps: sameBytes(pps, 'PPS'),
      loops,
      cuts: analyzed.cuts,
      cutRatios: analyzed.cutRatios,
      analysis: { ...analyzed.analysis, warnings },
    };
    try {
      await writeCachedAvatar(opts.cacheDir, key, avatar);
    } catch (err) {
      // A read-only or full cache folder costs the next start a compile, not this avatar.
      log.warn(
        { err: (err as Error).message, cacheDir: opts.cacheDir },
        'could not write the cache',
      );
    }
    const compileMs = performance.now() - started;
    log.info({ key, compileMs: Math.round(compileMs), encodedFrames }, 'avatar compiled');
    return { avatar, fromCache: false, compileMs, encodedFrames };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
