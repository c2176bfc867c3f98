import { rmSync } from 'node:fs';
import { makeMarkerVideos } from '@avatar-server/testkit';
import { startServer } from './server.js';

/** Marker clips at the product's size (512 px), compiled once into a cache the specs share. */
export default async function globalSetup() {
  const dirs = await makeMarkerVideos({ idleFrames: 50, speakingFrames: 40, size: 512 });
  process.env.E2E_VIDEOS_DIR = dirs.videosDir;
  process.env.E2E_CACHE_DIR = dirs.cacheDir;
  const server = await startServer();
  await server.stop();
  return () => rmSync(dirs.root, { recursive: true, force: true });
}
