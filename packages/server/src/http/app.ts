import { existsSync } from 'node:fs';
import cors from 'cors';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import { problemHandler } from './problem.js';
import { type WhepDeps, whepRoutes } from './whepRoutes.js';

export type AppDeps = WhepDeps & {
  version: string;
  startedAt: number;
  /** Folder of the built demo page, served at `/` when present. */
  demoDir?: string | undefined;
  logger: Logger;
};

/**
 * CORS for browsers on other origins: WHEP players must read Location and ETag, and send
 * Authorization and If-Match, none of which CORS allows by default (notes/whep.md items 14, 15).
 */
const corsOptions: cors.CorsOptions = {
  origin: true,
  methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['Authorization', 'Content-Type', 'If-Match'],
  exposedHeaders: ['Location', 'ETag', 'Link', 'Accept-Patch', 'Accept-Post', 'Retry-After'],
  maxAge: 600,
  // Let the routes answer OPTIONS themselves (Accept-Post, Accept-Patch; 404 for unknown URLs).
  preflightContinue: true,
};

/** The HTTP application, without listening: tests and embedders mount or serve it themselves. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(cors(corsOptions));

  app.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      version: deps.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      sessions: deps.registry.size,
    });
  });

  app.use(whepRoutes(deps));

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
      deps.logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed'),
    ),
  );
  return app;
}
