import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarSource } from './compileAvatar.js';
import { findAvatars } from './findAvatars.js';

/** `path` is `root` or lies inside it, judged on the text alone. */
function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * A clip path from a request (the original API's `gesture_video` / `idle_video`), allowed only if
 * it names a file inside the videos folder once every link is resolved: a request must never make
 * the server read `/etc/passwd` or follow a link out of the folder. Relative paths are taken
 * relative to the videos folder.
 *
 * The answers reveal nothing about the host: a path outside the folder is refused (403) without
 * looking at it, and every path inside that does not end at a file inside (missing, a folder, a
 * link out of the folder whether or not its target exists) gets the same 404. Details name files
 * relative to the folder, never the server's absolute paths.
 */
export function confinedClip(videosDir: string, path: string, field: string): string {
  const configured = resolve(videosDir);
  const root = realpathSync(configured);
  const wanted = isAbsolute(path) ? resolve(path) : resolve(root, path);
  const base = within(root, wanted) ? root : within(configured, wanted) ? configured : undefined;
  if (base === undefined) {
    throw new AvatarServerError(
      'path_not_allowed',
      `${field}: '${path}' is outside the videos folder; name a clip inside it (relative paths are taken from it)`,
    );
  }
  let real: string | undefined;
  try {
    real = realpathSync(wanted);
  } catch {
    real = undefined;
  }
  if (real === undefined || !within(root, real) || !statSync(real).isFile()) {
    throw new AvatarServerError(
      'video_not_found',
      `${field}: no clip '${relative(base, wanted) || '.'}' in the videos folder (a link there must point to a file inside it)`,
    );
  }
  return real;
}

/**
 * The avatar for a pair of clips: only a pair the videos folder holds as an avatar
 * (`<id>_gestos.mp4` + `<id>_reposo.mp4`, or `<id>/speaking.mp4` + `<id>/idle.mp4`), so requests
 * name at most one avatar per pair the operator put there, not one per combination of files. A
 * frame processor makes it another avatar, `<id>+processed`.
 */
export function sourceForPair(
  videosDir: string,
  clips: { idle: string; speaking: string },
  processor?: string,
): AvatarSource {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const found = findAvatars(resolve(videosDir)).find(
    (a) => real(a.clips.idle) === clips.idle && real(a.clips.speaking) === clips.speaking,
  );
  if (!found) {
    throw new AvatarServerError(
      'path_not_allowed',
      'gesture_video and idle_video are not one avatar of the videos folder: give <name>_gestos.mp4 with <name>_reposo.mp4, or <name>/speaking.mp4 with <name>/idle.mp4',
    );
  }
  // The folder's own paths, as a compile at start uses them (the same cache entry).
  return processor ? { ...found, id: `${found.id}+processed`, processor } : found;
}
