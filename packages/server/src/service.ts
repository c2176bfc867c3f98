import { resolve } from 'node:path';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createApp } from './http/app.js';
import { chooseLogFormat, createLogger, setMediaLogger } from './lib/logger.js';
import { publicPathText } from './lib/publicPaths.js';
import { VERSION } from './lib/version.js';
import { AvatarCatalog } from './media/AvatarCatalog.js';
import { chooseEncoder, type EncoderChoice } from './media/chooseEncoder.js';
import { findAvatars } from './media/findAvatars.js';
import { type FoundFfmpeg, findFfmpeg } from './media/findFfmpeg.js';
import { OnDemandAvatars } from './media/OnDemandAvatars.js';
import { killAllFfmpeg } from './media/runFfmpeg.js';
import { BitrateMeter } from './observe/bitrate.js';
import { createMetrics } from './observe/metrics.js';
import { buildStatus } from './observe/status.js';
import { FrameClock } from './session/frameClock.js';
import { SessionFactory } from './session/SessionFactory.js';
import { SessionRegistry } from './session/SessionRegistry.js';
import { weriftPeers } from './webrtc/weriftPeers.js';

export type AvatarService = {
  /** The HTTP API (not listening): served by startServer or mounted by createAvatarRouter. */
  app: Express;
  catalog: AvatarCatalog;
  registry: SessionRegistry;
  /** Creates sessions with their peers and finds them again. */
  sessions: SessionFactory;
  encoder: EncoderChoice;
  ffmpeg: FoundFfmpeg;
  logger: Logger;
  /** Resolves when every avatar found at start has compiled or failed. */
  compiled: Promise<void>;
  /** Shutdown begins: `GET /ready` answers 503 from now on; sessions keep running until close. */
  drain(): void;
  /** Ends every session, stops the clock and any compile. */
  close(): void;
};

/**
 * Everything but the listening socket: find ffmpeg and the encoder, start compiling the avatars
 * in the background, and build the HTTP app over one session registry and frame clock.
 */
export async function createAvatarService(
  config: Config,
  options: { logger?: Logger; demoDir?: string } = {},
): Promise<AvatarService> {
  const startedAt = Date.now();
  const format = chooseLogFormat(config.logFormat);
  const logger = options.logger ?? createLogger(config.logLevel, format);
  // webrtc/, session/ and rtp/ log through child loggers of this one (debug: why a session ended).
  setMediaLogger(logger);
  // A bar redrawn in place can update often; a JSON line every few seconds is plenty.
  const redrawnBar = !options.logger && format === 'pretty' && process.stdout.isTTY;
  const ffmpeg = findFfmpeg({ configured: config.ffmpegPath });
  const encoder = await chooseEncoder(ffmpeg.path, config.encoder);
  logger.info(
    { ffmpeg: ffmpeg.path, source: ffmpeg.source, encoder: encoder.reason },
    'encoder chosen',
  );

  const clock = new FrameClock(config.fps);
  const registry = new SessionRegistry(
    clock,
    (err, session) =>
      logger.error({ err, session: session.id }, 'session failed on a frame tick; ending it'),
    { switchWaitFrames: config.switchWaitFrames, sendSlices: config.sendSlices },
  );
  let catalog: AvatarCatalog | undefined;
  const metrics = createMetrics({ registry, avatars: () => catalog?.list() ?? [] });
  catalog = new AvatarCatalog({
    ffmpegPath: ffmpeg.path,
    encoder: encoder.kind,
    settings: {
      size: config.size,
      fps: config.fps,
      bitrateKbps: config.bitrateKbps,
      x264Preset: config.x264Preset,
    },
    keyframeInterval: config.keyframeInterval,
    analysis: { trim: config.loopTrim, minLoopFraction: config.loopMinFraction },
    cacheDir: resolve(config.cacheDir),
    cacheMaxBytes: config.cacheMaxMb * 1e6,
    maxRtpPayload: config.maxRtpPayload,
    logger,
    progressLogMs: redrawnBar ? 500 : 5000,
    onCompiled: (state) => metrics.compiled(state),
    publicText: publicPathText({ videosDir: config.videosDir, ffmpegPath: ffmpeg.path }),
  });
  if (config.clipRequests && config.tokens.length === 0 && !config.tokenSecret) {
    logger.warn('clipRequests is on and no token is required: anyone may have clip pairs compiled');
  }
  const onDemand = new OnDemandAvatars(catalog, () => registry.list().map((s) => s.avatarId), {
    maxAvatars: config.onDemandMaxAvatars,
    idleMs: config.onDemandIdleSeconds * 1000,
    maxQueued: config.compileQueueMax,
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
  let draining = false;
  const bitrate = new BitrateMeter(() => registry.totals().bytesSent);

  const sessions = new SessionFactory({
    registry,
    peers: weriftPeers({ ...config.ice, publicIp: config.publicIp }),
    timeouts: {
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      receiverSilenceTimeoutMs: config.receiverSilenceTimeoutMs,
    },
    logger,
  });

  const app = createApp({
    config,
    catalog,
    registry,
    sessions,
    onDemand,
    logger,
    version: VERSION,
    startedAt,
    demoDir: options.demoDir,
    metrics: metrics.register,
    draining: () => draining,
    status: () =>
      buildStatus({
        version: VERSION,
        startedAt,
        catalog: catalog!,
        registry,
        encoder,
        ffmpeg,
        bitrate,
        maxSessions: config.maxSessions,
      }),
  });

  return {
    app,
    catalog,
    registry,
    sessions,
    encoder,
    ffmpeg,
    logger,
    compiled,
    drain() {
      draining = true;
    },
    close() {
      draining = true;
      killAllFfmpeg(); // a compile still running is abandoned; its temporary folder is removed
      registry.closeAll('server shutting down');
      clock.stop();
      bitrate.stop();
      onDemand.close();
    },
  };
}
