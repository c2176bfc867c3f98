import { resolve } from 'node:path';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { levelFromDbfs } from './audio/voiced.js';
import { ClusterNodes } from './cluster/ClusterNodes.js';
import type { ForwardCounts } from './cluster/forwardSessions.js';
import { nodeIdOf } from './cluster/nodeId.js';
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
import { watchVideos } from './media/watchVideos.js';
import { BitrateMeter } from './observe/bitrate.js';
import { createMetrics } from './observe/metrics.js';
import { buildStatus } from './observe/status.js';
import { MediaPool } from './workers/MediaPool.js';
import { splitPortRange, workerCount } from './workers/portRange.js';

export type AvatarService = {
  /** The HTTP API (not listening): served by startServer or mounted by createAvatarRouter. */
  app: Express;
  catalog: AvatarCatalog;
  /** The media workers: every session lives in one of them (workers/MediaPool.ts). */
  media: MediaPool;
  encoder: EncoderChoice;
  ffmpeg: FoundFfmpeg;
  logger: Logger;
  /** Resolves when every avatar found at start has compiled or failed. */
  compiled: Promise<void>;
  /** The other nodes of the cluster (cluster/ClusterNodes.ts). */
  cluster: ClusterNodes;
  /** Shutdown begins: `GET /ready` answers 503 from now on; sessions keep running until close. */
  drain(): void;
  /** Ends every session, stops the media workers and any compile. */
  close(): Promise<void>;
};

/**
 * Everything but the listening socket: find ffmpeg and the encoder, start compiling the avatars
 * in the background, start the media workers, and build the HTTP app (the front) over them.
 */
export async function createAvatarService(
  config: Config,
  options: {
    logger?: Logger;
    demoDir?: string;
    /** Benchmarks: the media workers report every send slice (`media.on('slice')`). */
    reportSlices?: boolean;
  } = {},
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

  const node = nodeIdOf(config.cluster);
  const cluster = new ClusterNodes({
    self: node,
    secret: config.cluster.secret,
    nodes: config.cluster.nodes,
    dns: config.cluster.dns,
    port: config.cluster.port ?? config.port,
    logger,
  });
  const forwards: ForwardCounts = { forwarded: 0, failed: 0, unknownNode: 0 };
  const workers = workerCount(config.workers);
  const { portRange, ...ice } = config.ice;
  const media = new MediaPool({
    count: workers,
    settings: {
      node,
      fps: config.fps,
      switchWaitFrames: config.switchWaitFrames,
      sendSlices: config.sendSlices,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      receiverSilenceTimeoutMs: config.receiverSilenceTimeoutMs,
      logLevel: logger.level,
      youngGenerationMb: config.workerYoungGenerationMb,
      reportSlices: options.reportSlices ?? false,
      voice: {
        silenceMs: config.audio.silenceMs,
        faceDelayMs: config.audio.faceDelayMs,
        voiceThreshold: levelFromDbfs(config.audio.voiceThresholdDb),
        maxQueue: config.audio.maxQueue,
        maxBufferedSeconds: config.audio.maxUtteranceSeconds,
        stallMs: config.audio.stallMs,
        maxUtteranceSeconds: config.audio.maxUtteranceSeconds,
      },
    },
    ice: (index) => ({
      ...ice,
      portRange: splitPortRange(portRange, workers, index),
      publicIp: config.publicIp,
    }),
    logger,
  });
  let catalog: AvatarCatalog | undefined;
  const metrics = createMetrics({
    media,
    avatars: () => catalog?.list() ?? [],
    cluster: { forwards, identityQueries: () => cluster.identityQueries },
  });
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
    // With a cache folder shared by several nodes, one compiles each avatar (media/compileLock.ts).
    lock: { owner: node },
    maxRtpPayload: config.maxRtpPayload,
    logger,
    progressLogMs: redrawnBar ? 500 : 5000,
    onCompiled: (state) => metrics.compiled(state),
    publicText: publicPathText({ videosDir: config.videosDir, ffmpegPath: ffmpeg.path }),
  });
  if (config.clipRequests && config.tokens.length === 0 && !config.tokenSecret) {
    logger.warn('clipRequests is on and no token is required: anyone may have clip pairs compiled');
  }
  const onDemand = new OnDemandAvatars(catalog, () => media.avatarsInUse(), {
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
  logger.info({ workers, portRange, node }, 'media workers started');
  const rescan = watchVideos(catalog, resolve(config.videosDir), config.videosRescanS, logger);
  await cluster.start();
  let draining = false;
  const bitrate = new BitrateMeter(() => media.bytesSent);

  const app = createApp({
    config,
    catalog,
    media,
    onDemand,
    logger,
    version: VERSION,
    startedAt,
    demoDir: options.demoDir,
    ffmpegPath: ffmpeg.path,
    metrics: metrics.register,
    draining: () => draining,
    cluster,
    forwards,
    status: () =>
      buildStatus({
        version: VERSION,
        startedAt,
        catalog: catalog!,
        media,
        encoder,
        ffmpeg,
        bitrate,
        maxSessions: config.maxSessions,
        cluster: { node, nodes: cluster.list(), forwards: { ...forwards } },
      }),
  });

  return {
    app,
    catalog,
    media,
    encoder,
    ffmpeg,
    logger,
    compiled,
    cluster,
    drain() {
      draining = true;
    },
    async close() {
      draining = true;
      rescan.stop();
      cluster.stop();
      killAllFfmpeg(); // a compile still running is abandoned; its temporary folder is removed
      bitrate.stop();
      onDemand.close();
      await media.close('server shutting down');
    },
  };
}
