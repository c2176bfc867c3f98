/**
 * Compile time and memory of the default avatar (videos/default), from an empty cache, against a
 * baseline measured in the same run: one plain encode of each clip with a keyframe every G frames
 * (what a server that cannot switch at any frame would encode). Run: npx tsx bench/compileDefault.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../packages/server/src/config/load.js';
import { parseAnnexB } from '../packages/server/src/media/annexB.js';
import { compileAvatar } from '../packages/server/src/media/compileAvatar.js';
import { compiledBytes, LOOP_NAMES } from '../packages/server/src/media/compiledAvatar.js';
import { decodeClip, openFrames } from '../packages/server/src/media/decodeClip.js';
import { encoderArgs } from '../packages/server/src/media/encoderArgs.js';
import { findFfmpeg } from '../packages/server/src/media/findFfmpeg.js';
import { runFfmpeg } from '../packages/server/src/media/runFfmpeg.js';

export async function benchCompile(videosDir = 'videos') {
  const config = parseConfig({});
  const ffmpegPath = findFfmpeg().path;
  const settings = {
    size: config.size,
    fps: config.fps,
    bitrateKbps: config.bitrateKbps,
    x264Preset: config.x264Preset,
  };
  const G = config.keyframeInterval;
  const clips = {
    idle: join(videosDir, 'default/idle.mp4'),
    speaking: join(videosDir, 'default/speaking.mp4'),
  };
  const work = mkdtempSync(join(tmpdir(), 'bench-compile-'));
  try {
    // Baseline: decode + one plain encode per clip, keyframe every G frames.
    const baselineStart = performance.now();
    let baselineBytes = 0;
    for (const name of LOOP_NAMES) {
      const frames = await decodeClip({
        ffmpegPath,
        input: clips[name],
        output: join(work, `${name}.yuv`),
        ...settings,
      });
      const keyframes = Array.from({ length: Math.ceil(frames.count / G) }, (_, i) => i * G);
      const run = runFfmpeg(
        ffmpegPath,
        encoderArgs('x264', settings, keyframes),
        'baseline encode',
      );
      const out: Buffer[] = [];
      run.stdout.on('data', (c: Buffer) => out.push(c));
      const reader = await openFrames(frames);
      for (let i = 0; i < frames.count; i++) await run.write(await reader.read(i));
      await reader.close();
      run.end();
      await run.done;
      for (const au of parseAnnexB(Buffer.concat(out)).accessUnits) {
        for (const s of au.slices) baselineBytes += s.length;
      }
    }
    const baselineMs = performance.now() - baselineStart;

    const compileOptions = {
      ffmpegPath,
      encoder: 'x264' as const,
      settings,
      keyframeInterval: G,
      analysis: { trim: config.loopTrim, minLoopFraction: config.loopMinFraction },
      cacheDir: join(work, 'cache'),
      logger: pino({ level: 'silent' }),
    };
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const outcome = await compileAvatar({ id: 'default', clips }, compileOptions);
    const compileMs = performance.now() - started;
    const bytes = compiledBytes(outcome.avatar);
    const loadStart = performance.now();
    // The same inputs again: a cache hit.
    const cached = await compileAvatar({ id: 'default', clips }, compileOptions);
    const cacheLoadMs = performance.now() - loadStart;
    if (!cached.fromCache) throw new Error('second compile did not hit the cache');
    return {
      settings: { ...settings, keyframeInterval: G, encoder: 'x264' },
      frames: {
        idle: outcome.avatar.loops.idle.frameCount,
        speaking: outcome.avatar.loops.speaking.frameCount,
      },
      compile: {
        ms: Math.round(compileMs),
        encodedFrames: outcome.encodedFrames,
        compiledMB: +(bytes / 1e6).toFixed(2),
      },
      baseline: { ms: Math.round(baselineMs), mainChainOnlyMB: +(baselineBytes / 1e6).toFixed(2) },
      ratios: {
        time: +(compileMs / baselineMs).toFixed(2),
        bytes: +(bytes / baselineBytes).toFixed(2),
      },
      cacheLoadMs: Math.round(cacheLoadMs),
      rssGrowthMB: +((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(1),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCompile(), null, 2));
}
