import { rmSync } from 'node:fs';
import { type MarkerAvatarDir, makeMarkerVideos } from '@avatar-server/testkit';
import pino, { type Logger } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { type RunningServer, startServer } from '../../src/server.js';

export const TEST_SIZE = 128;
export const IDLE_FRAMES = 50;
export const SPEAKING_FRAMES = 40;

export type TestServer = RunningServer & {
  dirs: MarkerAvatarDir;
  stop(options?: { drain?: boolean }): Promise<void>;
};

/** The real server on a free loopback port, serving a marker avatar as `default`. */
export async function startTestServer(
  overrides: ConfigInput = {},
  options: { logger?: Logger } = {},
): Promise<TestServer> {
  const dirs = await makeMarkerVideos({
    idleFrames: IDLE_FRAMES,
    speakingFrames: SPEAKING_FRAMES,
    size: TEST_SIZE,
  });
  const config = parseConfig({
    port: 0,
    host: '127.0.0.1',
    videosDir: dirs.videosDir,
    cacheDir: dirs.cacheDir,
    size: TEST_SIZE,
    fps: 25,
    bitrateKbps: 400,
    keyframeInterval: 10,
    x264Preset: 'ultrafast',
    // Marker clips must keep every frame: tests count on loops of exactly 50 and 40 frames.
    loopTrim: false,
    // Tests create many sessions and requests from one address; the rate-limit tests turn the
    // limits on.
    sessionRateLimit: { perMinute: 0, burst: 1 },
    sessionRequestRateLimit: { perMinute: 0, burst: 1 },
    // Pairs a test adds after the start are compiled on request (clipRequests), not by a rescan;
    // the cluster test turns the rescan on.
    videosRescanS: 0,
    ...overrides,
  });
  const server = await startServer(config, {
    logger: options.logger ?? pino({ level: process.env.TEST_LOG ?? 'silent' }),
  });
  await server.compiled;
  return {
    ...server,
    dirs,
    async stop(options?: { drain?: boolean }) {
      await server.close(options);
      rmSync(dirs.root, { recursive: true, force: true });
    },
  };
}
