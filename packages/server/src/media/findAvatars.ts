import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AvatarSource } from './compileAvatar.js';

/**
 * Avatars in the videos folder, in either layout:
 * - `<id>/idle.mp4` + `<id>/speaking.mp4`
 * - the original system's `<id>_reposo.mp4` (idle) + `<id>_gestos.mp4` (speaking)
 */
export function findAvatars(videosDir: string): AvatarSource[] {
  if (!existsSync(videosDir)) return [];
  const found = new Map<string, AvatarSource>();
  for (const entry of readdirSync(videosDir).sort()) {
    const path = join(videosDir, entry);
    // A broken link (its target gone) is no avatar, and no reason to fail the others.
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats) continue;
    if (stats.isDirectory()) {
      const idle = join(path, 'idle.mp4');
      const speaking = join(path, 'speaking.mp4');
      if (existsSync(idle) && existsSync(speaking)) {
        found.set(entry, { id: entry, clips: { idle, speaking } });
      }
      continue;
    }
    const m = /^(.+)_reposo\.mp4$/.exec(entry);
    if (m) {
      const speaking = join(videosDir, `${m[1]}_gestos.mp4`);
      if (existsSync(speaking) && !found.has(m[1]!)) {
        found.set(m[1]!, { id: m[1]!, clips: { idle: path, speaking } });
      }
    }
  }
  return [...found.values()];
}
