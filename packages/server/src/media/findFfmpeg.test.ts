import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FfmpegNotFoundError, findFfmpeg } from './findFfmpeg.js';

const fakeBinary = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ffbin-'));
  const path = join(dir, 'ffmpeg');
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, 0o755);
  return { dir, path };
};

describe('findFfmpeg', () => {
  it('prefers the configured path, then FFMPEG_PATH, then PATH', () => {
    const a = fakeBinary();
    const b = fakeBinary();
    const c = fakeBinary();
    const env = { FFMPEG_PATH: b.path, PATH: c.dir };
    expect(findFfmpeg({ configured: a.path, env, useStatic: false })).toEqual({
      path: a.path,
      source: 'config',
    });
    expect(findFfmpeg({ env, useStatic: false })).toEqual({ path: b.path, source: 'FFMPEG_PATH' });
    expect(findFfmpeg({ env: { PATH: `/nonexistent:${c.dir}` }, useStatic: false })).toEqual({
      path: c.path,
      source: 'PATH',
    });
  });

  it('fails with one line naming the fix when nothing is found', () => {
    const find = () => findFfmpeg({ env: { PATH: '/nonexistent' }, useStatic: false });
    expect(find).toThrow(FfmpegNotFoundError);
    expect(find).toThrow(/apt-get install ffmpeg.*FFMPEG_PATH/);
  });

  it('does not silently fall back when an explicitly named binary is missing', () => {
    expect(() => findFfmpeg({ configured: '/no/such/ffmpeg', env: {} })).toThrow(/ffmpegPath/);
    expect(() => findFfmpeg({ env: { FFMPEG_PATH: '/no/such/ffmpeg' } })).toThrow(
      /FFMPEG_PATH='\/no\/such\/ffmpeg'/,
    );
  });
});
