import {
  copyFileSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StreamCreated, waitFor } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../src/index.js';
import { findFfmpeg } from '../src/media/findFfmpeg.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * `POST /streams` with clip paths (`gesture_video` + `idle_video`) against the real server: what
 * it may compile, for whom, how many, for how long, and what its answers say about the host.
 * Each test here failed before the fix it names (docs/reliability.md, Security).
 */

const TOKEN = 'static-backend-token-for-tests';
const SECRET = 'a-signed-token-secret-of-40-characters!!';
const auth = { Authorization: `Bearer ${TOKEN}` };

type Problem = { status: number; detail: string; type: string };

async function postStreams(
  server: TestServer,
  body: unknown,
  headers: Record<string, string> = auth,
) {
  return fetch(`${server.url}/streams`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function problem(response: Response, status: number): Promise<Problem> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await response.json()) as Problem;
}

/** Polls `condition` until it holds (the shared waitFor, every 100 ms, 30 s at most). */
const until = (condition: () => boolean | Promise<boolean>, what: string) =>
  waitFor(condition, { what, timeoutMs: 30_000, intervalMs: 100 });

const DEFAULT_PAIR = { gesture_video: 'default/speaking.mp4', idle_video: 'default/idle.mp4' };

describe('clip paths are off unless the operator turns them on', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ['the clips of a known avatar', DEFAULT_PAIR],
    [
      'a path outside the folder (not even looked at)',
      { gesture_video: '/etc/passwd', idle_video: 'x' },
    ],
  ])('%s: 403 naming the setting, nothing compiled', async (_name, body) => {
    const before = server.catalog.list().map((a) => a.id);
    const { detail } = await problem(await postStreams(server, body, {}), 403);
    expect(detail).toMatch(/clip paths .* are off on this server: send \{"video_id"/);
    expect(detail).toMatch(/clipRequests/);
    expect(server.catalog.list().map((a) => a.id)).toEqual(before);
  });
});

describe('clip paths when on: real pairs, unlimited tokens, bounded compiles, no host paths', () => {
  let server: TestServer;
  let videos: string;
  let gate: string;
  let gateDir: string;

  beforeAll(async () => {
    gateDir = mkdtempSync(join(tmpdir(), 'gate-'));
    gate = join(gateDir, 'open');
    server = await startTestServer({
      clipRequests: true,
      tokens: [TOKEN],
      tokenSecret: SECRET,
      onDemandMaxAvatars: 1,
      compileQueueMax: 1,
      onDemandIdleSeconds: 5,
      // Sessions stay in the registry (unanswered) while a test needs them to.
      handshakeTimeoutMs: 60_000,
      // use_ai: waits until the test opens the gate, so a compile is queued for as long as needed.
      frameProcessor: `until [ -e '${gate}' ]; do sleep 0.05; done; exec cat`,
    });
    videos = server.dirs.videosDir;
    // Pairs added after the start: one good (same clips as default), one broken.
    copyFileSync(join(videos, 'default', 'idle.mp4'), join(videos, 'late_reposo.mp4'));
    copyFileSync(join(videos, 'default', 'speaking.mp4'), join(videos, 'late_gestos.mp4'));
    writeFileSync(join(videos, 'broken_reposo.mp4'), 'not a video');
    writeFileSync(join(videos, 'broken_gestos.mp4'), 'not a video either');
    // Links out of the folder: one to a file that exists, one to a file that does not.
    writeFileSync(join(server.dirs.root, 'secret.mp4'), 'not for you');
    symlinkSync(join(server.dirs.root, 'secret.mp4'), join(videos, 'exists_gestos.mp4'));
    symlinkSync(join(server.dirs.root, 'missing.mp4'), join(videos, 'missing_gestos.mp4'));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(gateDir, { recursive: true, force: true });
  });

  const ids = () => server.catalog.list().map((a) => a.id);
  const hostPaths = () => [server.dirs.root, realpathSync(server.dirs.root), findFfmpeg().path];

  it('a token limited to avatars may not use clip paths at all (403), even paths that match its avatars', async () => {
    for (const avatar of ['default', 'default/speaking.mp4']) {
      const limited = { Authorization: `Bearer ${mintToken(SECRET, { avatar, ttlSeconds: 60 })}` };
      const { detail } = await problem(
        await postStreams(
          server,
          { gesture_video: 'default/speaking.mp4', idle_video: 'default/idle.mp4' },
          limited,
        ),
        403,
      );
      expect(detail).toMatch(/this token is limited to .*: it cannot use clip paths/);
    }
    // An unlimited token (static, or signed without avatars) may.
    const open = { Authorization: `Bearer ${mintToken(SECRET, { ttlSeconds: 60 })}` };
    for (const headers of [auth, open]) {
      const response = await postStreams(server, DEFAULT_PAIR, headers);
      expect(response.status).toBe(201);
      const created = (await response.json()) as StreamCreated;
      expect(created.avatar).toBe('default');
      expect((await fetch(created.urls.session, { method: 'DELETE', headers })).status).toBe(200);
    }
  });

  it('only a pair the videos folder holds: mixing two avatars’ clips is refused, nothing compiled', async () => {
    const before = ids();
    for (const body of [
      { gesture_video: 'default/speaking.mp4', idle_video: 'late_reposo.mp4' },
      { gesture_video: 'late_gestos.mp4', idle_video: 'default/idle.mp4' },
      { gesture_video: 'default/idle.mp4', idle_video: 'default/speaking.mp4' },
    ]) {
      const { detail } = await problem(await postStreams(server, body), 403);
      expect(detail).toMatch(
        /not one avatar of the videos folder: give <name>_gestos\.mp4 with <name>_reposo\.mp4/,
      );
    }
    expect(ids()).toEqual(before);
  });

  it('paths: no host path in details; a link out of the folder answers the same whether its target exists', async () => {
    const outside = await problem(
      await postStreams(server, { gesture_video: '/etc/shadow', idle_video: 'default/idle.mp4' }),
      403,
    );
    expect(outside.detail).toBe(
      "gesture_video: '/etc/shadow' is outside the videos folder; name a clip inside it (relative paths are taken from it)",
    );
    const answers = [];
    for (const link of ['exists_gestos.mp4', 'missing_gestos.mp4']) {
      const response = await postStreams(server, {
        gesture_video: link,
        idle_video: 'default/idle.mp4',
      });
      answers.push({
        status: response.status,
        detail: ((await response.json()) as Problem).detail.replace(link, 'LINK'),
      });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toEqual({
      status: 404,
      detail:
        "gesture_video: no clip 'LINK' in the videos folder (a link there must point to a file inside it)",
    });
    // An absolute path inside the folder is named relative to it.
    const absolute = await problem(
      await postStreams(server, {
        gesture_video: join(videos, 'nope_gestos.mp4'),
        idle_video: 'default/idle.mp4',
      }),
      404,
    );
    expect(absolute.detail).toMatch(
      /^gesture_video: no clip 'nope_gestos\.mp4' in the videos folder/,
    );
    for (const detail of [outside.detail, answers[0]!.detail, absolute.detail]) {
      for (const path of hostPaths()) expect(detail).not.toContain(path);
    }
  });

  it('/status names ffmpeg without its path', async () => {
    const text = await (await fetch(`${server.url}/status`, { headers: auth })).text();
    expect(JSON.parse(text).encoder.ffmpeg).toBe('ffmpeg');
    for (const path of hostPaths()) expect(text).not.toContain(path);
  });

  let inUse: StreamCreated;

  it('a bounded compile queue: beyond compileQueueMax, 503 with Retry-After and a clear detail', async () => {
    const first = postStreams(server, { video_id: 'default', use_ai: true });
    await until(
      () => server.catalog.get('default+processed')?.state === 'compiling',
      'the use_ai compile to start',
    );
    const busy = await postStreams(server, {
      gesture_video: 'late_gestos.mp4',
      idle_video: 'late_reposo.mp4',
    });
    const { detail } = await problem(busy, 503);
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(detail).toMatch(
      /already compiling 1 avatar\(s\) on request, its limit \(compileQueueMax\); retry later/,
    );
    expect(ids()).not.toContain('late');

    writeFileSync(gate, '');
    const response = await first;
    expect(response.status).toBe(201);
    inUse = (await response.json()) as StreamCreated;
    expect(inUse.avatar).toBe('default+processed');
  }, 120_000);

  it('a bounded number of on-demand avatars: one in use is kept (503), an unused one makes room', async () => {
    const late = { gesture_video: 'late_gestos.mp4', idle_video: 'late_reposo.mp4' };
    const busy = await postStreams(server, late);
    const { detail } = await problem(busy, 503);
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(detail).toMatch(
      /holds 1 avatars compiled on request, its limit \(onDemandMaxAvatars\), and all are in use/,
    );
    expect(ids()).toContain('default+processed');

    expect((await fetch(inUse.urls.session, { method: 'DELETE', headers: auth })).status).toBe(200);
    // Unused now: the next request drops it (once it is a few seconds old) and compiles its own.
    let created: StreamCreated | undefined;
    await until(async () => {
      const response = await postStreams(server, late);
      if (response.status === 201) created = (await response.json()) as StreamCreated;
      else expect(response.status).toBe(503);
      return created !== undefined;
    }, 'room for the late pair');
    expect(created!.avatar).toBe('late');
    expect(ids()).not.toContain('default+processed');
    expect(ids()).toContain('late');

    // Without sessions for onDemandIdleSeconds, it is dropped from memory; the start's avatars stay.
    expect((await fetch(created!.urls.session, { method: 'DELETE', headers: auth })).status).toBe(
      200,
    );
    await until(() => !ids().includes('late'), 'the unused on-demand avatar to be dropped');
    expect(ids()).toContain('default');
  }, 120_000);

  it('a failed on-demand compile: its error without host paths, no recompile on retry, then dropped', async () => {
    const broken = { gesture_video: 'broken_gestos.mp4', idle_video: 'broken_reposo.mp4' };
    const { detail } = await problem(await postStreams(server, broken), 503);
    expect(detail).toMatch(
      /^avatar 'broken' failed to compile: broken_(reposo|gestos)\.mp4 is not a readable video/,
    );
    for (const path of hostPaths()) expect(detail).not.toContain(path);
    const listed = JSON.stringify(
      await (await fetch(`${server.url}/avatars`, { headers: auth })).json(),
    );
    expect(listed).toContain('broken_');
    for (const path of hostPaths()) expect(listed).not.toContain(path);
    // A retry gets the same answer from the catalog, then the failure is dropped.
    const again = await problem(await postStreams(server, broken), 503);
    expect(again.detail).toBe(detail);
    await until(() => !ids().includes('broken'), 'the failed on-demand avatar to be dropped');
  }, 120_000);
});
