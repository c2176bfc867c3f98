import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createApp } from './http/app.js';
import { createLogger } from './lib/logger.js';
import { VERSION } from './lib/version.js';
import { AvatarCatalog } from './media/AvatarCatalog.js';
import { chooseEncoder, type EncoderChoice } from './media/chooseEncoder.js';
import { findAvatars } from './media/findAvatars.js';
import { findFfmpeg } from './media/findFfmpeg.js';
import { killAllFfmpeg } from './media/runFfmpeg.js';
import { FrameClock } from './session/frameClock.js';
import { SessionRegistry } from './session/SessionRegistry.js';

export type RunningServer = {
  /** http://host:port of the listening server. */
  url: string;
  port: number;
  catalog: AvatarCatalog;
  registry: SessionRegistry;
  encoder: EncoderChoice;
  /** Resolves when every avatar found at start has compiled or failed. */
  compiled: Promise<void>;
  close(): Promise<void>;
};

/**
 * The composition root: find ffmpeg and the encoder, start compiling the avatars in the
 * background, and listen at once (so /health answers while a first compile runs).
 */
export async function startServer(
  config: Config,
  options: { logger?: Logger; demoDir?: string } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const ffmpeg = findFfmpeg({ configured: config.ffmpegPath });
  const encoder = await chooseEncoder(ffmpeg.path, config.encoder);
  logger.info(
    { ffmpeg: ffmpeg.path, source: ffmpeg.source, encoder: encoder.reason },
    'encoder chosen',
  );

  const catalog = new AvatarCatalog({
    ffmpegPath: ffmpeg.path,
    encoder: encoder.kind,
    settings: {
      size: config.size,
      fps: config.fps,
      bitrateKbps: config.bitrateKbps,
      x264Preset: config.x264Preset,
    },
    keyframeInterval: config.keyframeInterval,
    cacheDir: resolve(config.cacheDir),
    maxRtpPayload: config.maxRtpPayload,
    logger,
  });
  const sources = findAvatars(resolve(config.videosDir));
  if (sources.length === 0) {
    logger.warn(
      { videosDir: resolve(config.videosDir) },
      'no avatars found: add <id>/idle.mp4 + <id>/speaking.mp4',
    );
  }
  const compiled = catalog.compile(sources);

  const clock = new FrameClock(config.fps);
  const registry = new SessionRegistry(clock, (err, session) =>
    logger.error({ err, session: session.id }, 'session failed on a frame tick; ending it'),
  );
  const app = createApp({
    catalog,
    registry,
    ice: config.ice,
    publicBaseUrl: config.publicBaseUrl,
    defaultAvatar: config.defaultAvatar,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    maxSessions: config.maxSessions,
    logger,
    version: VERSION,
    startedAt: Date.now(),
    demoDir: options.demoDir,
  });
  const server: Server = createServer(app);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, () => ok());
  });
  // After listen, a socket error (e.g. EMFILE under a flood) is logged, never thrown.
  server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, avatars: sources.map((s) => s.id) }, 'listening');

  return {
    url,
    port,
    catalog,
    registry,
    encoder,
    compiled,
    async close() {
      killAllFfmpeg(); // a compile still running is abandoned; its temporary folder is removed
      registry.closeAll('server shutting down');
      clock.stop();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
