import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { yuv420FrameBytes } from './decodeClip.js';
import { findFfmpeg } from './findFfmpeg.js';
import { FrameProcessorError, PROCESSOR_ENV_KEYS, processFrames } from './processFrames.js';

const SIZE = 32;
const COUNT = 3;

function rawFrames() {
  const dir = mkdtempSync(join(tmpdir(), 'proc-'));
  const path = join(dir, 'in.yuv');
  const bytes = Buffer.alloc(COUNT * yuv420FrameBytes(SIZE));
  // Inside video range (16–235), so the filter below never clamps.
  for (let i = 0; i < bytes.length; i++) bytes[i] = 16 + ((i * 7) % 180);
  writeFileSync(path, bytes);
  const frames = { path, size: SIZE, count: COUNT, first: 0, frameBytes: yuv420FrameBytes(SIZE) };
  return { dir, frames, bytes };
}

const ffmpegPath = findFfmpeg().path;
// biome-ignore lint/suspicious/noTemplateCurlyInString: a shell command; sh expands the variables
const RAW = '-f rawvideo -pix_fmt yuv420p -s ${AVATAR_FRAME_SIZE}x${AVATAR_FRAME_SIZE}';

describe('frame processor (use_ai at compile time)', () => {
  it('feeds raw frames to the command and keeps what it returns (an ffmpeg filter)', async () => {
    const { dir, frames, bytes } = rawFrames();
    const out = await processFrames({
      command: `"$AVATAR_FFMPEG" -v error ${RAW} -i - -vf lutyuv=y=251-val ${RAW.replace(/-s \S+/, '')} -f rawvideo -`,
      frames,
      output: join(dir, 'out.yuv'),
      fps: 25,
      loop: 'idle',
      ffmpegPath,
    });
    expect(out).toMatchObject({ count: COUNT, size: SIZE, path: join(dir, 'out.yuv') });
    const processed = readFileSync(out.path);
    expect(processed.length).toBe(bytes.length);
    // Luma inverted, chroma untouched.
    expect(processed[0]).toBe(251 - bytes[0]!);
    expect(processed[SIZE * SIZE - 1]).toBe(251 - bytes[SIZE * SIZE - 1]!);
    expect(processed[SIZE * SIZE]).toBe(bytes[SIZE * SIZE]);
  });

  it("gets none of the server's secrets: only PATH, HOME, locale and its AVATAR_* contract", async () => {
    const { dir, frames } = rawFrames();
    const secrets = {
      AVATAR_TOKEN_SECRET: 'a-secret-of-32-characters-or-more!!',
      AVATAR_TOKENS: 'static-token-1',
      AWS_SECRET_ACCESS_KEY: 'cloud-credential',
    };
    Object.assign(process.env, secrets);
    try {
      await processFrames({
        command: `env > "${join(dir, 'env.txt')}" && cat`,
        frames,
        output: join(dir, 'o.yuv'),
        fps: 25,
        loop: 'idle',
        ffmpegPath,
      });
    } finally {
      for (const key of Object.keys(secrets)) delete process.env[key];
    }
    const seen = readFileSync(join(dir, 'env.txt'), 'utf8');
    for (const value of Object.values(secrets)) expect(seen).not.toContain(value);
    const names = seen
      .split('\n')
      .map((line) => line.split('=')[0])
      .filter((name) => name && !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(name));
    const allowed = [
      ...['AVATAR_FRAME_SIZE', 'AVATAR_FRAME_COUNT', 'AVATAR_FPS', 'AVATAR_LOOP', 'AVATAR_FFMPEG'],
      ...PROCESSOR_ENV_KEYS,
    ];
    expect(names.filter((name) => !allowed.includes(name!))).toEqual([]);
    expect(seen).toMatch(/^PATH=/m);
    expect(seen).toMatch(/^AVATAR_FRAME_SIZE=32$/m);
  });

  it('sees its contract in the environment', async () => {
    const { dir, frames } = rawFrames();
    const command =
      'test "$AVATAR_FRAME_COUNT" = 3 && test "$AVATAR_LOOP" = speaking && test "$AVATAR_FPS" = 30 && cat';
    await expect(
      processFrames({
        command,
        frames,
        output: join(dir, 'o.yuv'),
        fps: 30,
        loop: 'speaking',
        ffmpegPath,
      }),
    ).resolves.toBeDefined();
  });

  it.each([
    ['a failing command', 'echo broken >&2; exit 3', /exited with 3 on the idle loop: broken/],
    ['a wrong number of bytes', 'head -c 100', /returned 100 bytes for the idle loop, expected/],
  ])('%s fails the compile with a clear error', async (_name, command, message) => {
    const { dir, frames } = rawFrames();
    const run = processFrames({
      command,
      frames,
      output: join(dir, 'o.yuv'),
      fps: 25,
      loop: 'idle',
      ffmpegPath,
    });
    await expect(run).rejects.toThrow(FrameProcessorError);
    await expect(
      processFrames({
        command,
        frames,
        output: join(dir, 'o2.yuv'),
        fps: 25,
        loop: 'idle',
        ffmpegPath,
      }),
    ).rejects.toThrow(message);
  });
});
