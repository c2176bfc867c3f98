import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMarkerClip } from './makeMarkerClip.js';
import { LOOP } from './markerCode.js';

export type MarkerAvatarDir = { videosDir: string; cacheDir: string; root: string };

/**
 * A videos folder holding avatar `id` made of marker clips (every frame says its loop and index),
 * in the `<id>/idle.mp4` + `<id>/speaking.mp4` layout.
 */
export async function makeMarkerVideos(opts: {
  id?: string;
  idleFrames: number;
  speakingFrames: number;
  size: number;
}): Promise<MarkerAvatarDir> {
  const root = mkdtempSync(join(tmpdir(), 'avatar-test-'));
  const videosDir = join(root, 'videos');
  const dir = join(videosDir, opts.id ?? 'default');
  mkdirSync(dir, { recursive: true });
  await makeMarkerClip({
    path: join(dir, 'idle.mp4'),
    loop: LOOP.idle,
    frames: opts.idleFrames,
    size: opts.size,
  });
  await makeMarkerClip({
    path: join(dir, 'speaking.mp4'),
    loop: LOOP.speaking,
    frames: opts.speakingFrames,
    size: opts.size,
  });
  return { videosDir, cacheDir: join(root, 'cache'), root };
}
