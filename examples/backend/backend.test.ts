import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The backend example as the README runs it: `node examples/backend/backend.mjs` (on the built
 * server package) in a folder with a videos/ folder, then the original backend's request.
 */
const EXAMPLE = fileURLToPath(new URL('backend.mjs', import.meta.url));
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

let root: string;
let backend: ChildProcess;
let output = '';
let base: string;

/** A short clip of ffmpeg's test pattern: what the example serves matters less than that it does. */
function makeClip(path: string, pattern: string) {
  execFileSync(FFMPEG, [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
    ...['-i', `${pattern}=s=256x256:r=25:d=2`, '-c:v', 'libx264', '-preset', 'ultrafast', path],
  ]);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'backend-example-'));
  mkdirSync(join(root, 'videos', 'default'), { recursive: true });
  makeClip(join(root, 'videos', 'default', 'idle.mp4'), 'testsrc2');
  makeClip(join(root, 'videos', 'default', 'speaking.mp4'), 'smptebars');
  backend = spawn(process.execPath, [EXAMPLE], { cwd: root, env: { ...process.env, PORT: '0' } });
  backend.stdout?.on('data', (d) => {
    output += d;
  });
  backend.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 60_000;
  const printed = () => output.match(/^(http:\/\/localhost:\d+)\/api\/avatar\/status$/m)?.[1];
  while (!printed()) {
    if (backend.exitCode !== null || Date.now() > deadline)
      throw new Error(`no URL in:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  base = printed()!;
});

afterAll(() => {
  if (backend?.exitCode === null) backend.kill('SIGKILL');
  if (root) rmSync(root, { recursive: true, force: true });
});

async function avatarReady() {
  const res = await fetch(`${base}/api/avatar/avatars/default`);
  return res.ok && ((await res.json()) as { state: string }).state === 'ready';
}

describe('examples/backend', () => {
  it("answers the original backend's POST /api/avatar/streams with URLs under /api/avatar", async () => {
    // Wait for the first compile (GET /avatars), as a client told 503 + Retry-After would: retrying
    // the POST itself would spend the rate limit on sessions.
    const deadline = Date.now() + 120_000;
    while (!(await avatarReady())) {
      if (Date.now() > deadline) throw new Error('the avatar did not compile in 120 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    const res = await fetch(`${base}/api/avatar/streams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ portrait_id: 'jesus_default' }),
    });
    const body = (await res.json()) as {
      offer: { type: string };
      urls: { speaking: string; session: string };
    };
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body.offer.type).toBe('offer');
    expect(body.urls.speaking).toMatch(/\/api\/avatar\//);
    const session = await fetch(new URL(body.urls.session, base), { method: 'DELETE' });
    expect(session.status).toBeLessThan(300);
  });

  it('stops on SIGTERM with exit 0', async () => {
    const exited = new Promise<number | null>((ok) => backend.once('exit', (code) => ok(code)));
    backend.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('README', () => {
  it('shows the example as it is in examples/backend/backend.mjs', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const shown = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
      .map((m) => m[1])
      .find((code) => code?.includes('createAvatarRouter'));
    // The file's code is the README's, after the file's opening comment.
    const code = readFileSync(EXAMPLE, 'utf8').replace(/^(\/\/.*\n)+\n/, '');
    expect(shown).toBe(code);
  });
});
