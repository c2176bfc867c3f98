import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipError, clipWarnings, probeClip } from '../src/media/probeClip.js';

const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
let dir: string;
const make = (name: string, args: string[]) => {
  const path = join(dir, name);
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...args, '-y', path]);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'intake-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clip intake', () => {
  it('reads codec, size, frame rate, duration and audio, and says what to change', async () => {
    const wide = make('wide.mp4', [
      ...['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=15:d=2', '-f', 'lavfi', '-i', 'sine=d=2'],
      ...['-c:v', 'libx264', '-c:a', 'aac', '-shortest'],
    ]);
    const info = await probeClip(ffmpeg, wide);
    expect(info).toMatchObject({ codec: 'h264', width: 320, height: 180, fps: 15, hasAudio: true });
    expect(info.durationSeconds).toBeCloseTo(2, 0);
    const warnings = clipWarnings(wide, info).join('\n');
    expect(warnings).toMatch(/lasts 2\.\d s: 10–30 s/);
    expect(warnings).toMatch(/15 fps: record or convert at 25–30 fps/);
    expect(warnings).toMatch(/320×180: it is centre-cropped/);
  });

  it('fails an empty, truncated or audio-only file with a message naming it and the fix', async () => {
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    const good = make('good.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=128x128:r=25:d=3',
      '-c:v',
      'libx264',
    ]);
    const truncated = join(dir, 'truncated.mp4');
    const bytes = readFileSync(good);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const audio = make('audio.m4a', ['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac']);
    for (const path of [empty, truncated, audio]) {
      const error = await probeClip(ffmpeg, path).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(ClipError);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(/MP4 \(H\.264\)/);
    }
    expect(await probeClip(ffmpeg, good)).toMatchObject({ width: 128, fps: 25, hasAudio: false });
  });

  it('refuses an enormous resolution from the header, before decoding a frame', async () => {
    const huge = make('huge.mkv', [
      ...['-f', 'lavfi', '-i', 'color=c=gray:s=4112x64:r=25:d=0.08', '-c:v', 'ffv1'],
    ]);
    const startedAt = performance.now();
    const error = await probeClip(ffmpeg, huge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClipError);
    expect((error as Error).message).toMatch(/4112×64: clips larger than 4096×4096 are refused/);
    expect(performance.now() - startedAt).toBeLessThan(5000);
  });
});
