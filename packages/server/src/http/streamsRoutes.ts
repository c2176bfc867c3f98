import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import express, { type Router } from 'express';
import { z } from 'zod';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarState } from '../media/AvatarCatalog.js';
import { confinedClip, sourceForPair } from '../media/clipPair.js';
import type { AvatarSource } from '../media/compileAvatar.js';
import { findAvatars } from '../media/findAvatars.js';
import type { OnDemandAvatars } from '../media/OnDemandAvatars.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { OfferError } from '../webrtc/offer.js';
import { answerSession, offerSession } from '../webrtc/openSession.js';
import { checkAvatarAllowed, requireToken } from './auth.js';
import { checkClipRequest } from './clipRequests.js';
import { limitSessionCreation } from './rateLimit.js';
import { baseUrl, sessionUrl } from './sessionUrls.js';
import { canonicalAvatarId, ensureCapacity, resolveAvatar, type WhepDeps } from './whepRoutes.js';

export type StreamsDeps = WhepDeps & {
  videosDir: string;
  frameProcessor: string | undefined;
  /** Clip paths allowed (setting clipRequests); off when unset. */
  clipRequests?: boolean | undefined;
  /** Bounds on avatars compiled on request (clip pairs, use_ai); unset: the catalog, unbounded. */
  onDemand?: OnDemandAvatars | undefined;
};

/** How long `POST /streams` waits for a new clip pair to compile before answering 503. */
const COMPILE_WAIT_MS = 60_000;

/**
 * The original system's request bodies. `portrait_id` is what its Node backend's
 * `routes/avatar.js` forwarded; it means the same as `video_id`.
 */
const StreamRequest = z
  .object({
    video_id: z.string().min(1).optional(),
    portrait_id: z.string().min(1).optional(),
    gesture_video: z.string().min(1).optional(),
    idle_video: z.string().min(1).optional(),
    use_ai: z.boolean().optional(),
  })
  .passthrough();

/**
 * The original API: `POST /streams` makes the session and *our* SDP offer; the client answers at
 * `POST /streams/:id/answer`. The session is an ordinary registry session, so speaking and ending
 * use the WHEP session URLs, and the data channel works as for WHEP.
 */
export function streamsRoutes(deps: StreamsDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: '128kb', type: () => true });

  const limit =
    deps.creationLimit ?? limitSessionCreation(deps.sessionRateLimit ?? { perMinute: 0, burst: 1 });
  const auth = requireToken(deps.tokens, deps.tokenSecret);
  router.post('/streams', limit, auth, json, async (req, res) => {
    const parsed = StreamRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AvatarServerError(
        'bad_request',
        `'${issue.path.join('.') || 'body'}': ${issue.message}; send {"video_id": "jesus_default"} or {"gesture_video": "...", "idle_video": "..."}`,
      );
    }
    // Before any compile: a token for named avatars may not open others, nor clip paths.
    const named = parsed.data.video_id ?? parsed.data.portrait_id ?? deps.defaultAvatar;
    const clipPaths = parsed.data.gesture_video ?? parsed.data.idle_video;
    if (clipPaths !== undefined) checkClipRequest(res, deps.clipRequests);
    else checkAvatarAllowed(res, canonicalAvatarId(deps.catalog, named, deps.defaultAvatar), named);
    const avatar = await avatarFor(deps, parsed.data);
    ensureCapacity(deps);
    const { session, offer } = await offerSession({
      avatar,
      registry: deps.registry,
      ice: deps.ice,
      logger: deps.logger,
      handshakeTimeoutMs: deps.handshakeTimeoutMs,
      receiverSilenceTimeoutMs: deps.receiverSilenceTimeoutMs,
    });
    const base = baseUrl(req, deps.publicBaseUrl);
    const url = sessionUrl(base, session.id);
    res
      .status(201)
      .set('Location', url)
      .json({
        id: session.id,
        session_id: session.id,
        avatar: avatar.id,
        offer: { type: 'offer', sdp: offer },
        ice_servers: deps.iceServers,
        urls: {
          answer: `${base}/streams/${session.id}/answer`,
          speaking: `${url}/speaking`,
          session: url,
        },
      });
  });

  router.post(
    '/streams/:sessionId/answer',
    express.text({ type: 'application/sdp', limit: '128kb' }),
    json,
    async (req, res) => {
      const id = String(req.params.sessionId);
      const session = deps.registry.get(id);
      if (!session) throw AvatarServerError.sessionNotFound(id);
      const body = req.body as unknown;
      const sdp =
        typeof body === 'string'
          ? body
          : typeof (body as { sdp?: unknown })?.sdp === 'string'
            ? (body as { sdp: string }).sdp
            : undefined;
      if (sdp === undefined) {
        throw new AvatarServerError(
          'bad_request',
          'send the answer as JSON {"type": "answer", "sdp": "v=0..."} or as application/sdp',
        );
      }
      try {
        await answerSession(session, sdp);
      } catch (err) {
        if (err instanceof OfferError) {
          throw new AvatarServerError(
            err.kind === 'unparsable' ? 'unparsable_sdp' : 'session_state',
            err.message,
          );
        }
        throw err;
      }
      res.json({ id, session_id: id, state: 'answered' });
    },
  );

  return router;
}

async function avatarFor(
  deps: StreamsDeps,
  body: z.infer<typeof StreamRequest>,
): Promise<PacketizedAvatar> {
  const named = body.video_id ?? body.portrait_id;
  const paths = body.gesture_video !== undefined || body.idle_video !== undefined;
  if (named && paths) {
    throw new AvatarServerError(
      'bad_request',
      'send either video_id or gesture_video + idle_video, not both',
    );
  }
  if (paths && (body.gesture_video === undefined || body.idle_video === undefined)) {
    throw new AvatarServerError(
      'bad_request',
      'gesture_video and idle_video go together: send both paths (or a video_id)',
    );
  }
  if (body.use_ai && !deps.frameProcessor) {
    throw new AvatarServerError(
      'ai_not_available',
      'use_ai: this server has no AI model; set frameProcessor in config.yaml to process frames at compile time, or send use_ai: false',
    );
  }
  if (!paths) {
    const id = named ?? deps.defaultAvatar;
    if (!body.use_ai) return resolveAvatar(deps.catalog, id, deps.defaultAvatar);
    // The named avatar's clips, through the frame processor: another avatar, compiled once.
    const wanted = canonicalAvatarId(deps.catalog, id, deps.defaultAvatar);
    const found = findAvatars(resolve(deps.videosDir)).find((a) => a.id === wanted);
    if (!found) {
      throw AvatarServerError.avatarNotFound(
        id,
        deps.catalog.list().map((a) => a.id),
      );
    }
    const clips = {
      idle: realpathSync(found.clips.idle),
      speaking: realpathSync(found.clips.speaking),
    };
    return ready(deps, { id: `${wanted}+processed`, clips, processor: deps.frameProcessor! });
  }
  const clips = {
    idle: confinedClip(deps.videosDir, body.idle_video!, 'idle_video'),
    speaking: confinedClip(deps.videosDir, body.gesture_video!, 'gesture_video'),
  };
  const processor = body.use_ai ? deps.frameProcessor : undefined;
  return ready(deps, sourceForPair(deps.videosDir, clips, processor));
}

/** Compiles the avatar on first use (cached afterwards) and waits for it, within limits. */
async function ready(deps: StreamsDeps, source: AvatarSource): Promise<PacketizedAvatar> {
  const compiled = (deps.onDemand ?? deps.catalog).ensure(source);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((ok) => {
    timer = setTimeout(() => ok(undefined), COMPILE_WAIT_MS);
  });
  const state: AvatarState | undefined = await Promise.race([compiled, late]);
  clearTimeout(timer);
  if (!state || state.state === 'compiling') {
    throw new AvatarServerError(
      'avatar_not_ready',
      `avatar '${source.id}' is still compiling; retry shortly`,
      { retryAfterSeconds: 10 },
    );
  }
  if (state.state === 'failed') {
    throw new AvatarServerError(
      'avatar_failed',
      `avatar '${source.id}' failed to compile: ${state.error}`,
    );
  }
  return state.avatar;
}
