import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { encoderWorks } from '../media/chooseEncoder.js';
import { findAvatars } from '../media/findAvatars.js';
import { findFfmpeg } from '../media/findFfmpeg.js';
import { ffmpegToBuffer, ffmpegVersion } from '../media/runFfmpeg.js';

/** One line of `avatar-server doctor`: a pass, a warning, or a failure with how to fix it. */
export type Check = { ok: boolean | 'warn'; what: string; fix?: string };

/**
 * Checks what a start needs, in the order it needs it: ffmpeg, its encoders (libx264, NVENC), the
 * videos (each clip decodes), the cache folder, the port. Never throws: every problem is a line.
 */
export async function runDoctor(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  let ffmpeg: string | undefined;
  try {
    const found = findFfmpeg({ configured: config.ffmpegPath });
    ffmpeg = found.path;
    checks.push({
      ok: true,
      what: `ffmpeg: ${found.path} (from ${found.source}, ${(await ffmpegVersion(found.path)).split('\n')[0]})`,
    });
  } catch (err) {
    const message = (err as Error).message;
    const [what, fix] =
      message.split(': ').length > 1
        ? [message.slice(0, message.indexOf(': ')), message.slice(message.indexOf(': ') + 2)]
        : [message, undefined];
    checks.push({ ok: false, what, ...(fix ? { fix } : {}) });
  }

  if (ffmpeg) {
    const x264 = await encoderWorks(ffmpeg, 'x264');
    checks.push(
      x264
        ? { ok: true, what: 'libx264 encodes' }
        : {
            ok: false,
            what: 'libx264 does not encode',
            fix: 'install an ffmpeg built with libx264 (Debian: apt-get install ffmpeg)',
          },
    );
    const nvenc = await encoderWorks(ffmpeg, 'nvenc');
    checks.push(
      nvenc
        ? { ok: true, what: 'NVENC (h264_nvenc) encodes: compiles use the GPU' }
        : {
            ok: config.encoder === 'nvenc' ? false : 'warn',
            what: 'NVENC not available: compiles use libx264 (CPU)',
            fix: 'for GPU compiles: an NVIDIA GPU with NVENC, its driver, and an ffmpeg built with nvenc (see deploy/Dockerfile)',
          },
    );
  }

  const videosDir = resolve(config.videosDir);
  const avatars = findAvatars(videosDir);
  if (!existsSync(videosDir)) {
    checks.push({
      ok: false,
      what: `videos folder ${videosDir} does not exist`,
      fix: `mkdir -p ${videosDir} and copy <name>_gestos.mp4 + <name>_reposo.mp4 into it (or set videosDir)`,
    });
  } else if (avatars.length === 0) {
    checks.push({
      ok: false,
      what: `no avatars in ${videosDir}`,
      fix: 'add <name>_gestos.mp4 + <name>_reposo.mp4, or <name>/speaking.mp4 + <name>/idle.mp4',
    });
  } else {
    for (const avatar of avatars) {
      for (const [loop, clip] of Object.entries(avatar.clips)) {
        if (!ffmpeg) break;
        try {
          await ffmpegToBuffer(
            ffmpeg,
            ['-i', clip, '-frames:v', '1', '-f', 'null', '-'],
            `decoding ${clip}`,
            { timeoutMs: 30_000 },
          );
          checks.push({ ok: true, what: `avatar ${avatar.id}: ${loop} clip ${clip} decodes` });
        } catch (err) {
          checks.push({
            ok: false,
            what: `avatar ${avatar.id}: ${loop} clip ${clip} does not decode (${(err as Error).message.split('\n')[0]})`,
            fix: 're-encode it with the recipe in the README (ffmpeg … -c:v libx264 -an)',
          });
        }
      }
    }
    if (!avatars.some((a) => a.id === config.defaultAvatar)) {
      checks.push({
        ok: 'warn',
        what: `the default avatar '${config.defaultAvatar}' is not in ${videosDir}`,
        fix: `set defaultAvatar to one of: ${avatars.map((a) => a.id).join(', ')}`,
      });
    }
  }

  const cacheDir = resolve(config.cacheDir);
  try {
    mkdirSync(cacheDir, { recursive: true });
    accessSync(cacheDir, constants.W_OK);
    checks.push({ ok: true, what: `cache folder ${cacheDir} is writable` });
  } catch {
    checks.push({
      ok: false,
      what: `cache folder ${cacheDir} is not writable`,
      fix: 'fix its permissions or set cacheDir',
    });
  }

  const portFree = await new Promise<boolean>((ok) => {
    const probe = createServer();
    probe.once('error', () => ok(false));
    probe.listen(config.port, config.host, () => probe.close(() => ok(true)));
  });
  checks.push(
    portFree
      ? { ok: true, what: `port ${config.port} on ${config.host} is free` }
      : {
          ok: false,
          what: `port ${config.port} on ${config.host} is in use`,
          fix: 'stop what uses it (is the server already running?) or set port / --port',
        },
  );
  return checks;
}

/** The checks as terminal lines: `✓ …`, `! … — fix: …`, `✗ … — fix: …`. */
export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => {
      const mark = c.ok === true ? 'ok  ' : c.ok === 'warn' ? 'warn' : 'FAIL';
      return `${mark} ${c.what}${c.fix && c.ok !== true ? `\n     fix: ${c.fix}` : ''}`;
    })
    .join('\n');
}
