import express, { type RequestHandler, type Router } from 'express';
import type { Registry } from 'prom-client';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarCatalog } from '../media/AvatarCatalog.js';
import { openApiDocument } from './openapi.js';
import { canonicalAvatarId } from './whepRoutes.js';

export type OpsDeps = {
  version: string;
  startedAt: number;
  sessions: () => number;
  status: () => Promise<object>;
  metrics: Registry;
  /** Lets only operators through (http/operatorAccess.ts): /status and /metrics list sessions. */
  operatorOnly: RequestHandler;
  catalog: AvatarCatalog;
  defaultAvatar: string;
  /** True once shutdown began (SIGTERM): /ready answers 503 from then on. */
  draining?: () => boolean;
};

/**
 * Whether this server accepts sessions for its default avatar (what `/whep/avatars/default` and
 * the demo page use): throws the reason as a 503 problem when it does not.
 */
export function checkReady(deps: Pick<OpsDeps, 'catalog' | 'defaultAvatar' | 'draining'>) {
  if (deps.draining?.()) {
    throw new AvatarServerError(
      'server_draining',
      'the server is shutting down: send new viewers to another node',
      { retryAfterSeconds: 5 },
    );
  }
  const id = canonicalAvatarId(deps.catalog, 'default', deps.defaultAvatar);
  const state = deps.catalog.get(id);
  if (!state) {
    const known = deps.catalog.list().map((a) => a.id);
    throw new AvatarServerError(
      'avatar_failed',
      `no default avatar '${id}' (${known.length ? `found: ${known.join(', ')}` : 'no avatars found'}): add ${id}/idle.mp4 and ${id}/speaking.mp4 to the videos folder, or set defaultAvatar`,
    );
  }
  if (state.state === 'compiling') throw AvatarServerError.avatarCompiling(id, state);
  if (state.state === 'failed') {
    throw new AvatarServerError(
      'avatar_failed',
      // The compile error may name host paths: operators read it at GET /avatars/:id.
      `the default avatar '${id}' failed to compile; operators see why at GET /avatars/${id} and in the log`,
    );
  }
  return id;
}

/**
 * What operators and monitors read: liveness (`/health`: the process answers), readiness
 * (`/ready`: it accepts sessions), the full status, Prometheus metrics, the API.
 */
export function opsRoutes(deps: OpsDeps): Router {
  const router = express.Router();

  router.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      version: deps.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      sessions: deps.sessions(),
    });
  });

  router.get('/ready', (_req, res) => {
    res.json({ status: 'ready', avatar: checkReady(deps) });
  });

  router.get('/status', deps.operatorOnly, async (_req, res) => {
    res.json(await deps.status());
  });

  router.get('/metrics', deps.operatorOnly, async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(deps.version));
  });

  return router;
}
