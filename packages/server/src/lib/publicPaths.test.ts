import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicPathText } from './publicPaths.js';

describe('public text keeps host paths out', () => {
  const root = mkdtempSync(join(tmpdir(), 'paths-'));
  const real = join(root, 'real-videos');
  mkdirSync(real);
  const linked = join(root, 'videos');
  symlinkSync(real, linked);
  const hide = publicPathText({ videosDir: linked, ffmpegPath: '/usr/local/bin/ffmpeg' });

  it.each([
    [`${linked}/jesus_gestos.mp4 lasts 4.0 s`, 'jesus_gestos.mp4 lasts 4.0 s'],
    [
      `reading ${real}/jesus/idle.mp4: ffmpeg exited with code 1`,
      'reading jesus/idle.mp4: ffmpeg exited with code 1',
    ],
    [
      '/usr/local/bin/ffmpeg: /tmp/avatar-compile-x1/idle.yuv: Invalid data found',
      'ffmpeg: idle.yuv: Invalid data found',
    ],
    [`no clips in ${real}`, 'no clips in the videos folder'],
    ["'/home/someone/secret.mp4' is gone", "'secret.mp4' is gone"],
    ['see https://example.com/a/b for help', 'see https://example.com/a/b for help'],
    ['1920×1080 at 25 fps, 10–30 s', '1920×1080 at 25 fps, 10–30 s'],
  ])('%s', (text, expected) => {
    expect(hide(text)).toBe(expected);
    expect(hide(text)).not.toContain(root);
  });
});
