import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMarkers, makeMarkerClip } from './makeMarkerClip.js';
import { LOOP } from './markerCode.js';

const expected = (loop: number, n: number) =>
  Array.from({ length: n }, (_, frame) => ({ loop, frame }));

describe('makeMarkerClip + decodeMarkers (real ffmpeg)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marker-clip-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('encodes idle and speaking clips whose every frame decodes to its marker', async () => {
    const idle = join(dir, 'idle.mp4');
    const speaking = join(dir, 'speaking.mp4');
    await makeMarkerClip({ path: idle, loop: LOOP.idle, frames: 50 });
    await makeMarkerClip({ path: speaking, loop: LOOP.speaking, frames: 40 });
    expect(await decodeMarkers({ input: idle, size: 256 })).toEqual(expected(LOOP.idle, 50));
    expect(await decodeMarkers({ input: speaking, size: 256 })).toEqual(
      expected(LOOP.speaking, 40),
    );
    // Decoding at another size works because the code sits at a fixed fraction of the picture.
    expect(await decodeMarkers({ input: idle, size: 128 })).toEqual(expected(LOOP.idle, 50));
  });

  it('survives strong compression and a small picture', async () => {
    const path = join(dir, 'crf45.mp4');
    await makeMarkerClip({ path, loop: LOOP.speaking, frames: 30, size: 128, crf: 45 });
    expect(await decodeMarkers({ input: path, size: 128 })).toEqual(expected(LOOP.speaking, 30));
  });

  it('decodes an Annex-B H.264 buffer fed through stdin', async () => {
    const path = join(dir, 'annexb.mp4');
    const h264 = join(dir, 'annexb.h264');
    await makeMarkerClip({ path, loop: 2, frames: 20, withAudio: true });
    const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
    const probe = execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type',
      '-of',
      'csv=p=0',
      path,
    ]);
    expect(probe.toString().trim().split('\n').sort()).toEqual(['audio', 'video']);
    execFileSync(ffmpeg, [
      '-v',
      'error',
      '-i',
      path,
      '-map',
      '0:v',
      '-c',
      'copy',
      '-bsf:v',
      'h264_mp4toannexb',
      '-f',
      'h264',
      '-y',
      h264,
    ]);
    const markers = await decodeMarkers({ input: await readFile(h264), size: 256 });
    expect(markers).toEqual(expected(2, 20));
  });

  it('rejects with ffmpeg stderr when decoding fails', async () => {
    const bogus = join(dir, 'missing.mp4');
    await expect(decodeMarkers({ input: bogus, size: 64 })).rejects.toThrow(/exited with code/);
    await expect(
      decodeMarkers({ input: Buffer.from('not h264 at all'), size: 64 }),
    ).rejects.toThrow();
  });
});
