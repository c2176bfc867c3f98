import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import cors from 'cors';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config/schema.js';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarCatalog } from '../media/AvatarCatalog.js';
import type { OnDemandAvatars } from '../media/OnDemandAvatars.js';
import type { MediaPool } from '../workers/MediaPool.js';
import { audioRoutes } from './audioRoutes.js';
import { avatarsRoutes } from './avatarsRoutes.js';
import { operatorCheck, requireOperator } from './operatorAccess.js';
import { type OpsDeps, opsRoutes } from './opsRoutes.js';
import { problemHandler } from './problem.js';
import { limitSessionCreation } from './rateLimit.js';
import { sessionAccess } from './sessionAccess.js';
import { streamsRoutes } from './streamsRoutes.js';
import { whepRoutes } from './whepRoutes.js';

export type AppDeps = Omit<OpsDeps, 'sessions' | 'operatorOnly' | 'defaultAvatar'> & {
  /** Every setting, parsed (parseConfig): the defaults come from the schema, nowhere else. */
  config: Config;
  catalog: AvatarCatalog;
  /** The media workers that hold the sessions. */
  media: MediaPool;
  /** Bounds on avatars compiled on request (`/streams` clip pairs, use_ai); unset: unbounded. */
  onDemand?: OnDemandAvatars | undefined;
  /** Folder of the built demo page, served at `/` when present. */
  demoDir?: string | undefined;
  /** ffmpeg, which decodes the audio uploads (the front never blocks on it: a child process). */
  ffmpegPath: string;
  logger: Logger;
};

/** An incoming X-Request-Id is kept (a proxy's id joins both logs); otherwise a new one. */
function requestId(req: { headers: Record<string, unknown> }) {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}

/**
 * CORS for browsers on other origins: WHEP players must read Location and ETag, and send
 * Authorization and If-Match, none of which CORS allows by default (docs/whep.md, CORS).
 */
const corsOptions = (origins: readonly string[]): cors.CorsOptions => ({
  origin: origins.includes('*') ? true : [...origins],
  methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['Authorization', 'Content-Type', 'If-Match'],
  exposedHeaders: ['Location', 'ETag', 'Link', 'Accept-Patch', 'Accept-Post', 'Retry-After'],
  maxAge: 600,
  // Let the routes answer OPTIONS themselves (Accept-Post, Accept-Patch; 404 for unknown URLs).
  preflightContinue: true,
});

/** The HTTP application, without listening: tests and embedders mount or serve it themselves. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Whose X-Forwarded-For/-Proto to believe (setting trustProxy): the rate limits count clients
  // by the address a trusted proxy gives.
  app.set('trust proxy', [...deps.config.trustProxy]);
  // One log line per request, with its id (also sent back as X-Request-Id); probes and scrapes are
  // not logged.
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const id = requestId(req);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: {
        ignore: (req) => req.url === '/health' || req.url === '/ready' || req.url === '/metrics',
      },
      customLogLevel: (_req, res, err) =>
        // 503 is expected (compiling, at the session limit): a warning, not an error.
        res.statusCode === 503
          ? 'warn'
          : err || res.statusCode >= 500
            ? 'error'
            : res.statusCode >= 400
              ? 'warn'
              : 'info',
      serializers: {
        // Method, URL and id only: headers may carry tokens, bodies carry SDP.
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  const { config } = deps;
  app.use(cors(corsOptions(config.corsOrigins)));

  app.use(
    opsRoutes({
      ...deps,
      sessions: () => deps.media.size,
      defaultAvatar: config.defaultAvatar,
      operatorOnly: requireOperator(config),
    }),
  );
  app.use(avatarsRoutes(deps.catalog, operatorCheck(config)));
  // What a page may offer (the demo hides its text box without text to speech).
  app.get('/features', (_req, res) => {
    res.json({ audio: true, tts: config.tts !== undefined });
  });
  const routeDeps = {
    ...deps,
    // One per-IP limiter for both ways of creating a session.
    creationLimit: limitSessionCreation(config.sessionRateLimit),
    sessionAccess: sessionAccess(deps.media, config.sessionRequestRateLimit),
  };
  app.use(whepRoutes(routeDeps));
  app.use(streamsRoutes(routeDeps));
  app.use(audioRoutes({ ...routeDeps, ffmpegPath: deps.ffmpegPath }));

  if (deps.demoDir && existsSync(deps.demoDir)) app.use(express.static(deps.demoDir));

  // A CORS preflight for any other URL still gets its answer (the headers were set by cors()).
  app.options('/{*path}', (_req, res) => {
    res.status(204).end();
  });

  app.use((req, _res, next) => {
    next(new AvatarServerError('not_found', `nothing at ${req.method} ${req.path}`));
  });
  app.use(
    problemHandler((err, req) =>
      (req.log ?? deps.logger).error(
        { err, method: req.method, url: req.originalUrl },
        'request failed',
      ),
    ),
  );
  return app;
}
