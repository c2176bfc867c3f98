import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarSource } from './compileAvatar.js';
import { findAvatars } from './findAvatars.js';

/**
 * A clip path from a request (the original API's `gesture_video` / `idle_video`), allowed only if
 * it names a file inside the videos folder once every link is resolved: a request must never make
 * the server read `/etc/passwd` or follow a link out of the folder. Relative paths are taken
 * relative to the videos folder.
 */
export function confinedClip(videosDir: string, path: string, field: string): string {
  const root = realpathSync(resolve(videosDir));
  const wanted = isAbsolute(path) ? path : resolve(root, path);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    // Say "not found" only for paths inside the folder: outside it, existence is not our business.
    const lexical = relative(resolve(videosDir), resolve(resolve(videosDir), path));
    if (lexical.startsWith('..') || isAbsolute(lexical)) throw outside(field, path, root);
    throw new AvatarServerError('video_not_found', `${field}: no file '${path}' in ${root}`);
  }
  if (real !== root && !real.startsWith(root + sep)) throw outside(field, path, root);
  if (!statSync(real).isFile()) {
    throw new AvatarServerError('video_not_found', `${field}: '${path}' is not a file`);
  }
  return real;
}

function outside(field: string, path: string, root: string) {
  return new AvatarServerError(
    'path_not_allowed',
    `${field}: '${path}' is outside the videos folder ${root} (after resolving links); copy the clip there`,
  );
}

/**
 * The avatar for a pair of clips: the one found in the videos folder with exactly these clips if
 * any (so `/streams` with the files of `jesus` is the avatar `jesus`), otherwise a new id named by
 * a hash of the two real paths, compiled on first use. A frame processor makes it another avatar.
 */
export function sourceForPair(
  videosDir: string,
  clips: { idle: string; speaking: string },
  processor?: string,
): AvatarSource {
  const real = (p: string) => realpathSync(p);
  const found = findAvatars(resolve(videosDir)).find(
    (a) => real(a.clips.idle) === clips.idle && real(a.clips.speaking) === clips.speaking,
  );
  const base =
    found?.id ??
    `pair-${createHash('sha256').update(`${clips.idle}\0${clips.speaking}`).digest('hex').slice(0, 12)}`;
  return processor ? { id: `${base}+processed`, clips, processor } : { id: base, clips };
}
