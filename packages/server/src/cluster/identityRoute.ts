import express, { type Router } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import type { ClusterNodes } from './ClusterNodes.js';
import { identityProof, verifyRequest } from './signature.js';

/**
 * `GET /cluster/identity`: this node's id, for nodes that found our address through DNS
 * (ClusterNodes). Only a request signed with the cluster secret gets an answer, and the answer
 * proves we hold the secret too; anyone else gets the 404 of an unknown URL.
 */
export function identityRoute(cluster: ClusterNodes, secret: string | undefined): Router {
  const router = express.Router();
  router.get('/cluster/identity', (req, res) => {
    const what = { purpose: 'identity', method: 'GET', path: '/cluster/identity' } as const;
    const signed = verifyRequest(secret, req.headers, what);
    if (!signed || !secret) {
      throw new AvatarServerError('not_found', `nothing at ${req.method} ${req.path}`);
    }
    cluster.heardFrom(signed.node);
    res.json({ node: cluster.self, proof: identityProof(secret, cluster.self, signed.signature) });
  });
  return router;
}
