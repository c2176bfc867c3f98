import type { Response } from 'express';
import { AvatarServerError } from '../lib/errors.js';

/**
 * `POST /streams` with clip paths (`gesture_video`, `idle_video`) may start a compile, heavy CPU
 * on the machine that streams: refused unless the operator turned them on (`clipRequests`), and
 * never for a signed token limited to some avatars (docs/tokens.md), which may open only those.
 * The paths themselves are checked afterwards (media/clipPair.ts), so with the setting off a
 * request learns nothing about the server's files.
 */
export function checkClipRequest(res: Response, enabled: boolean | undefined) {
  if (!enabled) {
    throw new AvatarServerError(
      'path_not_allowed',
      'clip paths (gesture_video, idle_video) are off on this server: send {"video_id": "<avatar>"} instead (the operator can allow them with the setting clipRequests)',
    );
  }
  const avatars = res.locals.allowedAvatars as string[] | undefined;
  if (avatars !== undefined) {
    throw new AvatarServerError(
      'forbidden',
      `this token is limited to ${avatars.map((a) => `'${a}'`).join(', ')}: it cannot use clip paths (gesture_video, idle_video); send {"video_id": "${avatars[0] ?? ''}"}`,
    );
  }
}
