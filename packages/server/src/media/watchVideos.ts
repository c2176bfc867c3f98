import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AvatarCatalog } from './AvatarCatalog.js';
import { findAvatars } from './findAvatars.js';

/**
 * Clip pairs added to the videos folder after the start become avatars: the folder is scanned
 * every `everyS` seconds (polling, not inotify: a shared volume — NFS, a ReadWriteMany claim —
 * does not report changes made by another machine). A pair is taken once its two files kept the
 * same size and time over two scans, so a copy still being written is not compiled half-way.
 * Every node of a cluster scans the same folder; with a shared cache folder one of them compiles
 * the avatar and the others load it (media/compileLock.ts).
 */
export function watchVideos(
  catalog: AvatarCatalog,
  videosDir: string,
  everyS: number,
  logger: Logger,
): { stop(): void; scan(): void } {
  const seen = new Map<string, string>();
  const scan = () => {
    let sources: ReturnType<typeof findAvatars>;
    try {
      sources = findAvatars(videosDir);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'cannot read the videos folder');
      return;
    }
    for (const source of sources) {
      if (catalog.get(source.id)) continue;
      const files = [source.clips.idle, source.clips.speaking].map((clip) => {
        const stats = statSync(clip, { throwIfNoEntry: false });
        return stats ? `${stats.size}:${stats.mtimeMs}` : 'gone';
      });
      const signature = files.join(' ');
      if (seen.get(source.id) !== signature) {
        seen.set(source.id, signature);
        continue;
      }
      seen.delete(source.id);
      logger.info({ avatar: source.id }, 'new clips in the videos folder: compiling the avatar');
      void catalog.compile([source]);
    }
  };
  const timer = everyS > 0 ? setInterval(scan, everyS * 1000) : undefined;
  timer?.unref();
  return { stop: () => clearInterval(timer), scan };
}
