import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeMarkers,
  LOOP,
  type MarkerAvatarDir,
  makeMarkerVideos,
} from '@avatar-server/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAnnexB } from '../src/media/annexB.js';
import { type CompileOptions, compileAvatar } from '../src/media/compileAvatar.js';
import { type CompiledAvatar, LOOP_NAMES } from '../src/media/compiledAvatar.js';

const SIZE = 128;
let dirs: MarkerAvatarDir;
let options: CompileOptions;
let compiled: CompiledAvatar;
const source = () => ({
  id: 'default',
  clips: {
    idle: join(dirs.videosDir, 'default/idle.mp4'),
    speaking: join(dirs.videosDir, 'default/speaking.mp4'),
  },
});

beforeAll(async () => {
  // 30 and 23 frames with a keyframe interval of 7: both loops end in a short GOP.
  dirs = await makeMarkerVideos({ idleFrames: 30, speakingFrames: 23, size: SIZE });
  options = {
    ffmpegPath: process.env.FFMPEG_PATH ?? 'ffmpeg',
    encoder: 'x264',
    settings: { size: SIZE, fps: 25, bitrateKbps: 400, x264Preset: 'ultrafast' },
    keyframeInterval: 7,
    analysis: { trim: false, minLoopFraction: 0.6 }, // keep every marker frame
    cacheDir: dirs.cacheDir,
    logger: pino({ level: 'silent' }),
  };
  const outcome = await compileAvatar(source(), options);
  expect(outcome.fromCache, 'the first compile encodes').toBe(false);
  compiled = outcome.avatar;
});
afterAll(() => rmSync(dirs.root, { recursive: true, force: true }));

describe('loop compiler', () => {
  it('keeps every frame of both clips', () => {
    expect(compiled.loops.idle.frameCount).toBe(30);
    expect(compiled.loops.speaking.frameCount).toBe(23);
  });

  it('gives every frame index of both loops a keyframe entry that decodes to the end of the loop and around it', async () => {
    const nals: Uint8Array[] = [];
    const expected: Array<{ loop: number; frame: number }> = [];
    for (const name of LOOP_NAMES) {
      const loop = compiled.loops[name];
      for (let j = 0; j < loop.frameCount; j++) {
        // The keyframe version of frame j: the main chain at a main keyframe, else j's chain.
        const chain = j % loop.keyframeInterval === 0 ? loop.main.slice(j) : loop.chains[j]!;
        expect(chain[0]!.keyframe, `${name} frame ${j}`).toBe(true);
        // The entry chain, then the main chain from where the chain ends, then two frames past the wrap.
        const rest = loop.main.slice(j + chain.length);
        const sequence = [...chain, ...rest, ...loop.main.slice(0, 2)];
        for (const au of sequence) {
          if (au.keyframe) nals.push(compiled.sps, compiled.pps);
          nals.push(...au.slices);
        }
        for (let k = 0; k < sequence.length; k++) {
          expected.push({
            loop: name === 'idle' ? LOOP.idle : LOOP.speaking,
            frame: (j + k) % loop.frameCount,
          });
        }
      }
    }
    // Every chain starts with an IDR, so all entries concatenated are one valid stream.
    const markers = await decodeMarkers({ input: toAnnexB(nals), size: SIZE, format: 'h264' });
    expect(markers).toEqual(expected);
  });

  it('places IDRs only where planned: main keyframes every G frames and each chain start', () => {
    for (const name of LOOP_NAMES) {
      const loop = compiled.loops[name];
      expect(loop.main.map((au) => au.keyframe)).toEqual(loop.main.map((_, i) => i % 7 === 0));
      for (const chain of loop.chains) {
        expect(chain.map((au) => au.keyframe)).toEqual(chain.map((_, k) => k === 0));
      }
    }
  });

  it('loads an unchanged avatar from the cache without encoding, and recompiles a damaged cache file', async () => {
    const again = await compileAvatar(source(), options);
    expect(again.fromCache, 'unchanged clips and settings load from the cache').toBe(true);
    expect(again.encodedFrames).toBe(0);
    expect(Buffer.compare(again.avatar.sps, compiled.sps)).toBe(0);
    expect(again.avatar.loops.idle.main.map((au) => au.slices[0]!.length)).toEqual(
      compiled.loops.idle.main.map((au) => au.slices[0]!.length),
    );
    const [file] = readdirSync(dirs.cacheDir).filter((f) => f.endsWith('.avatar'));
    const bytes = readFileSync(join(dirs.cacheDir, file!));
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(join(dirs.cacheDir, file!), bytes);
    const repaired = await compileAvatar(source(), options);
    expect(repaired.fromCache, 'a damaged cache file is a miss').toBe(false);
    // A manifest edited to claim more frames than the body holds is a miss too.
    const file2 = join(dirs.cacheDir, file!);
    const text = readFileSync(file2);
    const edited = Buffer.from(
      text.toString('latin1').replace('"frameCount":30', '"frameCount":31'),
      'latin1',
    );
    expect(edited.equals(text), 'the manifest holds "frameCount":30 to edit').toBe(false);
    writeFileSync(file2, edited);
    expect(
      (await compileAvatar(source(), options)).fromCache,
      'a manifest that does not match its body is a miss',
    ).toBe(false);
    expect(readdirSync(dirs.cacheDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('compiles again when a setting that changes the output changes', async () => {
    const other = await compileAvatar(source(), { ...options, keyframeInterval: 5 });
    expect(other.fromCache, 'another keyframeInterval is another cache entry').toBe(false);
    expect(other.avatar.loops.idle.main.filter((au) => au.keyframe)).toHaveLength(6);
  });

  it('scales and crops clips of another size, aspect and frame rate, and drops audio', async () => {
    const clip = join(dirs.root, 'wide.mp4');
    // One second of 16:9 video at 30 fps with a sound track.
    execFileSync(options.ffmpegPath, [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=30:d=1'],
      ...['-f', 'lavfi', '-i', 'sine=d=1', '-c:v', 'libx264', '-c:a', 'aac', '-shortest', clip],
    ]);
    const outcome = await compileAvatar(
      { id: 'wide', clips: { idle: clip, speaking: clip } },
      { ...options, settings: { ...options.settings, size: 64 } },
    );
    // 30 frames at 30 fps are one second: 25 frames at 25 fps.
    expect(outcome.avatar.loops.idle.frameCount).toBe(25);
    expect(outcome.avatar.size).toBe(64);
  });

  it('fails with a message naming an unreadable clip', async () => {
    const broken = join(dirs.root, 'broken.mp4');
    writeFileSync(broken, 'not a video');
    await expect(
      compileAvatar({ id: 'broken', clips: { idle: broken, speaking: broken } }, options),
    ).rejects.toThrow(/broken\.mp4/);
  });

  it('fails cleanly when ffmpeg dies mid-encode, leaving no cache file, and a later run compiles', async () => {
    // An ffmpeg that works, except that an encode (raw frames on stdin) is killed after a moment.
    const dying = join(dirs.root, 'dying-ffmpeg.sh');
    writeFileSync(
      dying,
      `#!/bin/sh\ncase "$*" in *rawvideo*pipe:0*) ${options.ffmpegPath} "$@" & pid=$!; sleep 0.2; kill -9 $pid 2>/dev/null; exit 137;; esac\nexec ${options.ffmpegPath} "$@"\n`,
    );
    chmodSync(dying, 0o755);
    const cacheDir = join(dirs.root, 'dying-cache');
    const failed = compileAvatar(source(), { ...options, ffmpegPath: dying, cacheDir });
    await expect(failed).rejects.toThrow(/encoding with x264: ffmpeg exited with code 137/);
    const left = existsSync(cacheDir) ? readdirSync(cacheDir) : [];
    expect(left).toEqual([]); // no half-written cache entry
    const retried = await compileAvatar(source(), { ...options, cacheDir });
    expect(retried.fromCache, 'nothing was cached by the failed compile').toBe(false);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.avatar'))).toHaveLength(1);
  });
});
