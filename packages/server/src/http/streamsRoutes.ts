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
import { checkAvatarAllowed, requireToken, tokensRequired } from './auth.js';
import { checkClipRequest } from './clipRequests.js';
import { asHttp, readyAvatar } from './httpErrors.js';
import { ownedSession, ownerOf } from './sessionAccess.js';
import { baseUrl, sessionUrl } from './sessionUrls.js';
import { canonicalAvatarId, ensureCapacity, type RouteDeps, resolveAvatar } from './whepRoutes.js';

/** The routes' needs, and the bounds on avatars compiled on request (clip pairs, use_ai). */
type StreamsDeps = RouteDeps & { onDemand?: OnDemandAvatars | undefined };

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
    /** Our offer carries an Opus track too: the application can then send audio (docs/audio.md). */
    audio: z.boolean().optional(),
  })
  .passthrough();

/**
 * The original API: `POST /streams` makes the session and *our* SDP offer; the client answers at
 * `urls.answer` (`/streams/:id/answer/:answerKey`: the key is a secret only the 201 carried). The
 * session is an ordinary session, so speaking and ending use the WHEP session URLs, and the data
 * channel works as for WHEP.
 */
export function streamsRoutes(deps: StreamsDeps): Router {
  const { config } = deps;
  const router = express.Router();
  const json = express.json({ limit: '128kb', type: () => true });

  const auth = requireToken(config.tokens, config.tokenSecret);
  router.post('/streams', deps.creationLimit, auth, json, async (req, res) => {
    const parsed = StreamRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AvatarServerError(
        'bad_request',
        `'${issue.path.join('.') || 'body'}': ${issue.message}; send {"video_id": "jesus_default"} or {"gesture_video": "...", "idle_video": "..."}`,
      );
    }
    // Before any compile: a token for named avatars may not open others, nor clip paths.
    const named = parsed.data.video_id ?? parsed.data.portrait_id ?? config.defaultAvatar;
    const clipPaths = parsed.data.gesture_video ?? parsed.data.idle_video;
    if (clipPaths !== undefined) checkClipRequest(res, config.clipRequests);
    else
      checkAvatarAllowed(res, canonicalAvatarId(deps.catalog, named, config.defaultAvatar), named);
    const avatar = await avatarFor(deps, parsed.data);
    ensureCapacity(deps);
    const base = baseUrl(req, config);
    const owned = await asHttp(
      deps.media.create(avatar, undefined, ownerOf(req, tokensRequired(config))?.token, {
        audio: parsed.data.audio === true,
      }),
    );
    const { id } = owned;
    const url = sessionUrl(base, id);
    res
      .status(201)
      .set('Location', url)
      .json({
        id,
        session_id: id,
        avatar: avatar.id,
        offer: { type: 'offer', sdp: owned.sdp },
        ice_servers: config.iceServers,
        urls: {
          answer: `${base}/streams/${id}/answer/${owned.answerKey}`,
          speaking: `${url}/speaking`,
          session: url,
          ...(parsed.data.audio ? { audio: `${url}/audio` } : {}),
        },
        // With tokens: a token for this session's URLs only, to hand to the client that answers.
        ...(owned.sessionToken ? { session_token: owned.sessionToken } : {}),
      });
  });

  router.post(
    '/streams/:sessionId/answer/:answerKey',
    deps.sessionAccess,
    async (req, res, next) => {
      const key = String(req.params.answerKey);
      const session = ownedSession(res).id;
      if (!(await deps.media.session('answerKeyMatches', { session, key }))) throw noAnswerHere();
      next();
    },
    express.text({ type: 'application/sdp', limit: '128kb' }),
    json,
    async (req, res) => {
      const owned = ownedSession(res);
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
      await asHttp(deps.media.session('acceptAnswer', { session: owned.id, sdp }));
      res.json({ id: owned.id, session_id: owned.id, state: 'answered' });
    },
  );
  // The answer URL without its key: it was not built from urls.answer.
  router.post('/streams/:sessionId/answer', deps.sessionAccess, () => {
    throw noAnswerHere();
  });

  return router;
}

function noAnswerHere() {
  return new AvatarServerError(
    'session_not_found',
    'no session waits for an answer at this URL: post the answer to urls.answer of the 201 (it carries the answer key)',
  );
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
  const { config } = deps;
  if (body.use_ai && !config.frameProcessor) {
    throw new AvatarServerError(
      'ai_not_available',
      'use_ai: this server has no AI model; set frameProcessor in config.yaml to process frames at compile time, or send use_ai: false',
    );
  }
  if (!paths) {
    const id = named ?? config.defaultAvatar;
    if (!body.use_ai) return resolveAvatar(deps.catalog, id, config.defaultAvatar);
    // The named avatar's clips, through the frame processor: another avatar, compiled once.
    const wanted = canonicalAvatarId(deps.catalog, id, config.defaultAvatar);
    const found = findAvatars(resolve(config.videosDir)).find((a) => a.id === wanted);
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
    return ready(deps, { id: `${wanted}+processed`, clips, processor: config.frameProcessor! });
  }
  const clips = {
    idle: confinedClip(config.videosDir, body.idle_video!, 'idle_video'),
    speaking: confinedClip(config.videosDir, body.gesture_video!, 'gesture_video'),
  };
  const processor = body.use_ai ? config.frameProcessor : undefined;
  return ready(deps, sourceForPair(config.videosDir, clips, processor));
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
  return readyAvatar(state, source.id);
}
