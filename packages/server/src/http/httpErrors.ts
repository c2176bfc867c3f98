import { AvatarServerError, COMPILING_RETRY_AFTER_S } from '../lib/errors.js';
import type { AvatarState } from '../media/AvatarCatalog.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { OfferError } from '../webrtc/offer.js';

/**
 * One translation from what the media and WebRTC layers throw to HTTP problems, used by WHEP
 * and `/streams` alike, so the same failure gets the same status and `Retry-After` on both.
 */

/** An SDP the adapter could not parse is 400, one it cannot satisfy 422; anything else as is. */
export function toHttpError(err: unknown): unknown {
  if (err instanceof OfferError) {
    return new AvatarServerError(
      err.kind === 'unparsable' ? 'unparsable_sdp' : 'unusable_offer',
      err.message,
    );
  }
  return err;
}

/** Runs `work`, rethrowing its errors as HTTP problems (`toHttpError`). */
export async function asHttp<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw toHttpError(err);
  }
}

/** The avatar of a ready state; 503 (with `Retry-After` while compiling) otherwise. */
export function readyAvatar(state: AvatarState | undefined, id: string): PacketizedAvatar {
  if (!state) {
    throw new AvatarServerError(
      'avatar_not_ready',
      `avatar '${id}' is still compiling; retry shortly`,
      {
        retryAfterSeconds: COMPILING_RETRY_AFTER_S,
      },
    );
  }
  // With how far the compile is, so a page can show it without asking /avatars.
  if (state.state === 'compiling') throw AvatarServerError.avatarCompiling(id, state);
  if (state.state === 'failed') {
    throw new AvatarServerError(
      'avatar_failed',
      `avatar '${id}' failed to compile: ${state.error}`,
    );
  }
  return state.avatar;
}
