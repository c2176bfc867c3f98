import { randomBytes } from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarCatalog } from '../media/AvatarCatalog.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import type { SessionRegistry } from '../session/SessionRegistry.js';
import type { IceOptions } from '../webrtc/AvatarPeer.js';
import { OfferError } from '../webrtc/offer.js';
import { openSession, patchSession } from '../webrtc/openSession.js';
import { parseSdpFragment } from '../webrtc/trickle.js';
import { checkAvatarAllowed, requireToken } from './auth.js';
import { checkIfMatch, newEtag } from './etag.js';
import { limitSessionCreation } from './rateLimit.js';
import { baseUrl, sessionUrl } from './sessionUrls.js';

export type IceServer = { urls: string | string[]; username?: string; credential?: string };

export type WhepDeps = {
  /** Bearer tokens allowed to create sessions; empty (and no tokenSecret): open. */
  tokens: readonly string[];
  /** Key of signed short-lived tokens (lib/signedToken.ts). */
  tokenSecret?: string | undefined;
  /** Per-IP limit on session creation; app.ts makes one limiter shared by WHEP and /streams. */
  sessionRateLimit?: { perMinute: number; burst: number } | undefined;
  creationLimit?: RequestHandler | undefined;
  /** 428/412 for a PATCH without or with a stale If-Match (http/etag.ts); default lenient. */
  strictEtags?: boolean | undefined;
  /** STUN/TURN servers for clients, sent as `Link: rel="ice-server"` (WHEP §4.7). */
  iceServers: readonly IceServer[];
  catalog: AvatarCatalog;
  registry: SessionRegistry;
  ice: IceOptions;
  publicBaseUrl: string | undefined;
  defaultAvatar: string;
  handshakeTimeoutMs: number;
  /** A connected viewer silent on RTCP this long is gone (config receiverSilenceTimeoutMs). */
  receiverSilenceTimeoutMs?: number | undefined;
  maxSessions: number;
  logger: Logger;
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
export function ensureCapacity(deps: Pick<WhepDeps, 'registry' | 'maxSessions'>) {
  if (deps.registry.size >= deps.maxSessions) {
    throw new AvatarServerError(
      'server_busy',
      `this server is at its limit of ${deps.maxSessions} sessions; retry shortly or use another node`,
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
  if (state.state === 'compiling') throw AvatarServerError.avatarCompiling(wanted, state);
  if (state.state === 'failed') {
    throw new AvatarServerError(
      'avatar_failed',
      `avatar '${wanted}' failed to compile: ${state.error}`,
    );
  }
  return state.avatar;
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

function sessionOf(deps: WhepDeps, req: Request) {
  const id = String(req.params.sessionId);
  const session = deps.registry.get(id);
  if (!session) throw AvatarServerError.sessionNotFound(id);
  return session;
}

/** draft-ietf-wish-whep: the endpoint (one per avatar) and the session resources. */
export function whepRoutes(deps: WhepDeps): Router {
  const router = express.Router();
  const sdpBody = express.text({ type: () => true, limit: BODY_LIMIT });

  router
    .route('/whep/avatars/:avatarId')
    .post(
      deps.creationLimit ??
        limitSessionCreation(deps.sessionRateLimit ?? { perMinute: 0, burst: 1 }),
      requireToken(deps.tokens, deps.tokenSecret),
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
        const avatar = resolveAvatar(deps.catalog, String(req.params.avatarId), deps.defaultAvatar);
        checkAvatarAllowed(res, avatar.id, String(req.params.avatarId));
        ensureCapacity(deps);
        const offer = typeof req.body === 'string' ? req.body : '';
        let opened: Awaited<ReturnType<typeof openSession>>;
        try {
          opened = await openSession({
            offer,
            avatar,
            registry: deps.registry,
            ice: deps.ice,
            logger: deps.logger,
            handshakeTimeoutMs: deps.handshakeTimeoutMs,
            receiverSilenceTimeoutMs: deps.receiverSilenceTimeoutMs,
          });
        } catch (err) {
          if (err instanceof OfferError) {
            throw new AvatarServerError(
              err.kind === 'unparsable' ? 'unparsable_sdp' : 'unusable_offer',
              err.message,
            );
          }
          throw err;
        }
        const location = sessionUrl(baseUrl(req, deps.publicBaseUrl), opened.session.id);
        res
          .status(201)
          .set('Location', location)
          .set('ETag', newEtag(opened.session, randomBytes(8).toString('hex')))
          .set('Accept-Patch', 'application/trickle-ice-sdpfrag');
        const links = iceServerLinks(deps.iceServers);
        if (links.length) res.set('Link', links);
        res.type('application/sdp').send(opened.answer);
      },
    )
    // WHEP -03 §4.1: GET is 2xx without a body; -04 recommends HEAD 200 with the SDP type.
    .get((req, res) => {
      resolveAvatar(deps.catalog, String(req.params.avatarId), deps.defaultAvatar);
      res.status(200).type('application/sdp').end();
    })
    .options((_req, res) => {
      res.set('Accept-Post', 'application/sdp').status(204).end();
    })
    .all(methodNotAllowed(['POST', 'GET', 'HEAD', 'OPTIONS']));

  router
    .route('/whep/sessions/:sessionId')
    .get((req, res) => {
      const session = sessionOf(deps, req);
      res.json({
        id: session.id,
        avatar: session.avatarId,
        speaking: session.speaking,
        cursor: session.cursor,
        stats: session.stats,
      });
    })
    .delete((req, res) => {
      sessionOf(deps, req).close('deleted by client');
      res.status(200).end();
    })
    .patch(
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
        const session = sessionOf(deps, req);
        checkIfMatch(req, session, deps.strictEtags ?? false);
        await patchSession(session, parseSdpFragment(typeof req.body === 'string' ? req.body : ''));
        res.status(204).end();
      },
    )
    .options((_req, res) => {
      res.set('Accept-Patch', 'application/trickle-ice-sdpfrag').status(204).end();
    })
    .all(methodNotAllowed(['GET', 'PATCH', 'DELETE', 'OPTIONS']));

  router
    .route('/whep/sessions/:sessionId/speaking')
    .post(express.json({ limit: BODY_LIMIT, type: () => true }), async (req, res) => {
      const receivedAt = performance.now();
      const session = sessionOf(deps, req);
      const speaking = (req.body as { speaking?: unknown } | undefined)?.speaking;
      if (typeof speaking !== 'boolean') {
        throw new AvatarServerError(
          'bad_request',
          'send a JSON body {"speaking": true} or {"speaking": false}',
        );
      }
      res.json(await session.setSpeaking(speaking, receivedAt));
    })
    .get((req, res) => {
      res.json({ speaking: sessionOf(deps, req).speaking });
    })
    .all(methodNotAllowed(['POST', 'GET']));

  return router;
}
