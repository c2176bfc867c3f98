import express, { type RequestHandler, type Router } from 'express';
import type { Config } from '../config/schema.js';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarCatalog } from '../media/AvatarCatalog.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { parseSdpFragment } from '../webrtc/trickle.js';
import type { MediaPool } from '../workers/MediaPool.js';
import { checkAvatarAllowed, requireToken, tokensRequired } from './auth.js';
import { checkIfMatch } from './etag.js';
import { asHttp, readyAvatar } from './httpErrors.js';
import { ownedSession, ownerOf } from './sessionAccess.js';
import { baseUrl, sessionUrl } from './sessionUrls.js';

export type IceServer = { urls: string | string[]; username?: string; credential?: string };

/** What the WHEP and `/streams` routes need; every setting comes from the parsed config. */
export type RouteDeps = {
  config: Config;
  catalog: AvatarCatalog;
  /** The media workers: creates sessions and reaches them by id (workers/MediaPool.ts). */
  media: MediaPool;
  /** The per-IP limit on session creation, one for WHEP and `/streams` together. */
  creationLimit: RequestHandler;
  /** Finds the session of a session URL, rate-limits its requests, checks its owner. */
  sessionAccess: RequestHandler;
};

const BODY_LIMIT = '128kb';

function methodNotAllowed(allow: string[]) {
  return () => {
    throw new AvatarServerError('method_not_allowed', `use ${allow.join(', ')} on this URL`, {
      allow,
    });
  };
}

/** 503 with Retry-After once the server holds `maxSessions` (WHEP and `/streams` alike). */
export function ensureCapacity(deps: Pick<RouteDeps, 'media' | 'config'>) {
  const max = deps.config.maxSessions;
  if (deps.media.size >= max) {
    throw new AvatarServerError(
      'server_busy',
      `this server is at its limit of ${max} sessions; retry shortly or use another node`,
      { retryAfterSeconds: 5 },
    );
  }
}

/** `default` and the original system's `<name>_default` name the configured default avatar. */
export function canonicalAvatarId(catalog: AvatarCatalog, id: string, defaultAvatar: string) {
  return id === 'default' || id.endsWith('_default') ? (catalog.get(id) ? id : defaultAvatar) : id;
}

export function resolveAvatar(
  catalog: AvatarCatalog,
  id: string,
  defaultAvatar: string,
): PacketizedAvatar {
  const wanted = canonicalAvatarId(catalog, id, defaultAvatar);
  const state = catalog.get(wanted);
  if (!state)
    throw AvatarServerError.avatarNotFound(
      id,
      catalog.list().map((a) => a.id),
    );
  return readyAvatar(state, wanted);
}

/** One `Link` value per ICE server URL (draft-ietf-wish-whep §4.7). */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  return servers.flatMap((server) =>
    [server.urls].flat().map((url) => {
      const auth =
        server.username !== undefined
          ? `; username="${server.username}"; credential="${server.credential ?? ''}"; credential-type="password"`
          : '';
      return `<${url}>; rel="ice-server"${auth}`;
    }),
  );
}

/** draft-ietf-wish-whep: the endpoint (one per avatar) and the session resources. */
export function whepRoutes(deps: RouteDeps): Router {
  const { config } = deps;
  const router = express.Router();
  const sdpBody = express.text({ type: () => true, limit: BODY_LIMIT });

  router
    .route('/whep/avatars/:avatarId')
    .post(
      deps.creationLimit,
      requireToken(config.tokens, config.tokenSecret),
      (req, _res, next) => {
        if (!req.is('application/sdp')) {
          throw new AvatarServerError(
            'bad_content_type',
            `send the SDP offer with Content-Type: application/sdp (got ${req.get('content-type') ?? 'none'})`,
          );
        }
        next();
      },
      sdpBody,
      async (req, res) => {
        const avatar = resolveAvatar(
          deps.catalog,
          String(req.params.avatarId),
          config.defaultAvatar,
        );
        checkAvatarAllowed(res, avatar.id, String(req.params.avatarId));
        ensureCapacity(deps);
        const base = baseUrl(req, config);
        const offer = typeof req.body === 'string' ? req.body : '';
        const created = await asHttp(
          deps.media.create(avatar, { offer }, ownerOf(req, tokensRequired(config))?.token),
        );
        res
          .status(201)
          .set('Location', sessionUrl(base, created.id))
          .set('ETag', created.etag)
          .set('Accept-Patch', 'application/trickle-ice-sdpfrag');
        const links = iceServerLinks(config.iceServers);
        if (links.length) res.set('Link', links);
        res.type('application/sdp').send(created.sdp);
      },
    )
    // WHEP -03 §4.1: GET is 2xx without a body; -04 recommends HEAD 200 with the SDP type.
    .get((req, res) => {
      resolveAvatar(deps.catalog, String(req.params.avatarId), config.defaultAvatar);
      res.status(200).type('application/sdp').end();
    })
    .options((_req, res) => {
      res.set('Accept-Post', 'application/sdp').status(204).end();
    })
    .all(methodNotAllowed(['POST', 'GET', 'HEAD', 'OPTIONS']));

  router
    .route('/whep/sessions/:sessionId')
    .get(deps.sessionAccess, async (_req, res) => {
      const { id } = ownedSession(res);
      const view = await deps.media.session('get', { session: id });
      if (!view) throw AvatarServerError.sessionNotFound(id);
      res.json({
        id: view.id,
        avatar: view.avatar,
        speaking: view.speaking,
        cursor: view.cursor,
        stats: view.stats,
        // The voice (docs/audio.md): null without an audio track.
        audio: view.audio,
      });
    })
    .delete(deps.sessionAccess, async (_req, res) => {
      await deps.media.session('delete', {
        session: ownedSession(res).id,
        reason: 'deleted by client',
      });
      res.status(200).end();
    })
    .patch(
      deps.sessionAccess,
      (req, _res, next) => {
        if (!req.is('application/trickle-ice-sdpfrag')) {
          throw new AvatarServerError(
            'bad_content_type',
            `send trickled candidates with Content-Type: application/trickle-ice-sdpfrag (got ${req.get('content-type') ?? 'none'})`,
          );
        }
        next();
      },
      sdpBody,
      async (req, res) => {
        const owned = ownedSession(res);
        checkIfMatch(req, owned.etag, config.strictEtags);
        const fragment = parseSdpFragment(typeof req.body === 'string' ? req.body : '');
        await deps.media.session('addCandidates', { session: owned.id, ...fragment });
        res.status(204).end();
      },
    )
    .options((_req, res) => {
      res.set('Accept-Patch', 'application/trickle-ice-sdpfrag').status(204).end();
    })
    .all(methodNotAllowed(['GET', 'PATCH', 'DELETE', 'OPTIONS']));

  router
    .route('/whep/sessions/:sessionId/speaking')
    .post(
      deps.sessionAccess,
      express.json({ limit: BODY_LIMIT, type: () => true }),
      async (req, res) => {
        // On the epoch scale: the worker's performance clock has another origin.
        const receivedAt = performance.timeOrigin + performance.now();
        const { id } = ownedSession(res);
        const speaking = (req.body as { speaking?: unknown } | undefined)?.speaking;
        if (typeof speaking !== 'boolean') {
          throw new AvatarServerError(
            'bad_request',
            'send a JSON body {"speaking": true} or {"speaking": false}',
          );
        }
        res.json(await deps.media.session('speaking', { session: id, speaking, receivedAt }));
      },
    )
    .get(deps.sessionAccess, async (_req, res) => {
      const { id } = ownedSession(res);
      const view = await deps.media.session('get', { session: id });
      if (!view) throw AvatarServerError.sessionNotFound(id);
      res.json({ speaking: view.speaking });
    })
    // A CORS preflight (a page on another origin posting JSON, with a token): cors() set the
    // headers; without this it was a 405 and the browser refused the switch.
    .options((_req, res) => {
      res.status(204).end();
    })
    .all(methodNotAllowed(['POST', 'GET', 'OPTIONS']));

  return router;
}
