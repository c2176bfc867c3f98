import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

/** Where the ffmpeg binary in use came from (logged at start, shown by `doctor`). */
export type FfmpegSource = 'config' | 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH';

export type FoundFfmpeg = { path: string; source: FfmpegSource };

/** No usable ffmpeg: the message says how to get one. */
export class FfmpegNotFoundError extends Error {
  override name = 'FfmpegNotFoundError';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The optional `ffmpeg-static` package exports the path of a binary its install script downloads;
 * on machines without internet the package (or its binary) is absent, which is not an error.
 */
function ffmpegStaticPath(): string | undefined {
  try {
    const required = createRequire(import.meta.url)('ffmpeg-static') as unknown;
    return typeof required === 'string' && isExecutable(required) ? required : undefined;
  } catch {
    return undefined;
  }
}

function onPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds ffmpeg in this order: the configured path, `FFMPEG_PATH`, the `ffmpeg-static` package,
 * `ffmpeg` on PATH. An explicitly named binary that does not exist is an error, not a fallback:
 * the user asked for that one.
 */
export function findFfmpeg(
  options: { configured?: string | undefined; env?: NodeJS.ProcessEnv; useStatic?: boolean } = {},
): FoundFfmpeg {
  const env = options.env ?? process.env;
  if (options.configured) {
    if (isExecutable(options.configured)) return { path: options.configured, source: 'config' };
    throw new FfmpegNotFoundError(
      `ffmpeg not found at '${options.configured}' (setting ffmpegPath): fix the path or remove the setting to search FFMPEG_PATH, ffmpeg-static and PATH`,
    );
  }
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { path: fromEnv, source: 'FFMPEG_PATH' };
    throw new FfmpegNotFoundError(
      `ffmpeg not found at FFMPEG_PATH='${fromEnv}': fix the variable or unset it to search ffmpeg-static and PATH`,
    );
  }
  const fromStatic = options.useStatic === false ? undefined : ffmpegStaticPath();
  if (fromStatic) return { path: fromStatic, source: 'ffmpeg-static' };
  const fromPath = onPath('ffmpeg', env.PATH);
  if (fromPath) return { path: fromPath, source: 'PATH' };
  throw new FfmpegNotFoundError(
    'ffmpeg not found: install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set FFMPEG_PATH to an ffmpeg binary',
  );
}
