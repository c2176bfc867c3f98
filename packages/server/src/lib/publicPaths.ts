import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';

/**
 * Anything else that looks like an absolute path (a temporary folder, the cache, a clip behind a
 * link): an absolute path starts after a space, quote or bracket, and runs to the next one.
 */
const ABSOLUTE_PATH = /(^|[\s'"([])\/(?:[^\s'"()[\]:,]*\/)*([^\s'"()[\]:,/]*)/g;

/**
 * Makes text fit for public answers (problem details, `/avatars`, `/status`): files inside the
 * videos folder are named relative to it (`jesus_gestos.mp4`, `default/idle.mp4`), the configured
 * ffmpeg is `ffmpeg`, and any other absolute path keeps only its last part. The server's layout
 * (user names, install folders) is for its logs, which keep the full text.
 */
export function publicPathText(opts: {
  videosDir: string;
  ffmpegPath?: string | undefined;
}): (text: string) => string {
  const configured = resolve(opts.videosDir);
  let real = configured;
  try {
    real = realpathSync(configured);
  } catch {
    // No folder yet: nothing can be named inside it.
  }
  const roots = [...new Set([configured, real])].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    if (opts.ffmpegPath?.startsWith('/')) out = out.split(opts.ffmpegPath).join('ffmpeg');
    for (const root of roots)
      out = out
        .split(root + sep)
        .join('')
        .split(root)
        .join('the videos folder');
    return out.replace(ABSOLUTE_PATH, (_all, before: string, last: string) => `${before}${last}`);
  };
}
