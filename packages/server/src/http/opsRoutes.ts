import express, { type RequestHandler, type Router } from 'express';
import type { Registry } from 'prom-client';
import { openApiDocument } from './openapi.js';

export type OpsDeps = {
  version: string;
  startedAt: number;
  sessions: () => number;
  status: () => object;
  metrics: Registry;
  /** Lets only operators through (http/operatorAccess.ts): /status and /metrics list sessions. */
  operatorOnly: RequestHandler;
};

/**
 * What operators and monitors read: liveness (open to all), the full status and Prometheus
 * metrics (operators only), the API description (open).
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

  router.get('/status', deps.operatorOnly, (_req, res) => {
    res.json(deps.status());
  });

  router.get('/metrics', deps.operatorOnly, async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(deps.version));
  });

  return router;
}
