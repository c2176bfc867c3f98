import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import { openApiDocument } from './openapi.js';

export type OpsDeps = {
  version: string;
  startedAt: number;
  sessions: () => number;
  status: () => object;
  metrics: Registry;
};

/** What operators and monitors read: liveness, the full status, Prometheus metrics, the API. */
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

  router.get('/status', (_req, res) => {
    res.json(deps.status());
  });

  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(deps.version));
  });

  return router;
}
