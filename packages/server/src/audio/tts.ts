import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvatarServerError } from '../lib/errors.js';

export type TtsSettings = { command: string[]; timeoutMs: number };

/** What a text-to-speech command sees of the server's environment: no secrets. */
function minimalEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
}

/**
 * Runs the configured `tts.command` (an argument list, never a shell) with `{text}` and `{out}`
 * replaced, and returns the WAV file it wrote (the caller removes it). Without `{text}` in the
 * command the text goes to its stdin. A text starting with `-` gets a leading space, so it cannot
 * be read as an option.
 */
export async function synthesize(tts: TtsSettings, text: string): Promise<string> {
  const out = join(tmpdir(), `avatar-tts-${randomBytes(8).toString('hex')}.wav`);
  const safeText = text.startsWith('-') ? ` ${text}` : text;
  const args = tts.command.map((a) => a.replaceAll('{out}', out).replaceAll('{text}', safeText));
  const viaStdin = !tts.command.some((a) => a.includes('{text}'));
  const [program, ...rest] = args;
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(program!, rest, {
        env: minimalEnv(),
        stdio: [viaStdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), tts.timeoutMs);
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (c: string) => {
        stderr = (stderr + c).slice(-1000);
      });
      if (viaStdin) {
        child.stdin?.on('error', () => {});
        child.stdin?.end(text);
      }
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            new Error(
              signal ? `killed (${signal}) after ${tts.timeoutMs} ms` : `exit code ${code}`,
            ),
          );
      });
    });
    if ((await stat(out).catch(() => undefined))?.size === undefined) {
      throw new Error(`it wrote no file at {out}`);
    }
    return out;
  } catch (err) {
    await rm(out, { force: true });
    const tail = stderr.trim().split('\n').slice(-1)[0];
    throw new AvatarServerError(
      'internal',
      `the text-to-speech command failed: ${(err as Error).message}${tail ? ` (${tail})` : ''}; check tts.command`,
    );
  }
}
