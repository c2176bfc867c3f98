import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { type MarkerAvatarDir, makeMarkerVideos, WhepTestClient } from '@avatar-server/testkit';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { type RunningServer, startServer } from '../src/server.js';
import { startTestServer } from './support/testServer.js';

/**
 * Readiness and compile progress against the real server and a real first compile (ffmpeg, marker
 * clips): what a load balancer, Kubernetes and a "Preparing the avatar… N %" page read.
 */

type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A pino logger whose lines the test reads. */
function capturingLogger(level: string) {
  const lines: LogLine[] = [];
  const logger = pino(
    { level, base: undefined },
    { write: (s: string) => lines.push(JSON.parse(s)) },
  );
  return { logger, lines };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One request on a connection of its own. The compile's analysis holds the event loop for seconds;
 * a kept-alive socket whose idle timer fires just then is closed under the next request.
 */
function call(
  url: string,
  init: { method?: string; body?: string; type?: string; headers?: Record<string, string> } = {},
) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: unknown }>(
    (ok, fail) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          agent: false,
          headers: { ...(init.type ? { 'Content-Type': init.type } : {}), ...init.headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () =>
            ok({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
          );
        },
      );
      req.on('error', fail);
      req.end(init.body);
    },
  );
}

type AvatarView = { id: string; state: string; progress?: number; etaSeconds?: number };

describe('a first compile', () => {
  let dirs: MarkerAvatarDir | undefined;
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    if (dirs) rmSync(dirs.root, { recursive: true, force: true });
  });

  it('/ready is 503 with the progress while the default avatar compiles, /avatars and WHEP show the progress rising, then /ready is 200 and the ready line is logged', async () => {
    // Clips long enough that the compile lasts seconds (reading, decoding and the analysis of
    // 550 frames, 7,000 frames to encode), at a size and preset that leave the CPU to other tests.
    dirs = await makeMarkerVideos({ idleFrames: 300, speakingFrames: 250, size: 128 });
    const { logger, lines } = capturingLogger('info');
    const config = parseConfig({
      port: 0,
      host: '127.0.0.1',
      videosDir: dirs.videosDir,
      cacheDir: dirs.cacheDir,
      size: 128,
      x264Preset: 'ultrafast',
      loopTrim: false,
      sessionRateLimit: { perMinute: 0, burst: 1 },
    });
    const started = Date.now();
    server = await startServer(config, { logger });
    const { url } = server;

    const first = await call(`${url}/ready`);
    expect(first.status).toBe(503);
    expect(first.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const problem = first.body as Record<string, unknown>;
    expect(problem).toMatchObject({
      type: 'urn:avatar-server:problem:avatar_not_ready',
      status: 503,
      detail: expect.stringMatching(/'default' is still compiling \(\d+ %/),
    });
    expect(problem.progress).toBeGreaterThanOrEqual(0);
    expect((await call(`${url}/health`)).status).toBe(200); // liveness is not readiness

    // Poll /avatars until it is ready; a WHEP POST meanwhile gets a 503 carrying the same figures.
    const seen: AvatarView[] = [];
    let whep: Record<string, unknown> | undefined;
    await until('the avatar to compile', async () => {
      // As a viewer sees it (through a proxy, so not an operator): the public view has the progress.
      const asViewer = { headers: { 'X-Forwarded-For': '203.0.113.9' } };
      const [avatar] = (await call(`${url}/avatars`, asViewer)).body as AvatarView[];
      if (avatar!.state === 'ready') return true;
      expect(avatar!.state).toBe('compiling');
      expect(avatar).toEqual({
        id: 'default',
        state: 'compiling',
        progress: expect.any(Number),
        ...(avatar!.etaSeconds !== undefined ? { etaSeconds: expect.any(Number) } : {}),
      });
      seen.push(avatar!);
      if (!whep && avatar!.progress! > 0) {
        const response = await call(`${url}/whep/avatars/default`, {
          method: 'POST',
          type: 'application/sdp',
          body: 'v=0\r\n',
        });
        if (response.status === 503) whep = response.body as Record<string, unknown>;
      }
      return undefined;
    });
    const compileMs = Date.now() - started;
    const fractions = seen.map((a) => a.progress!);
    expect(fractions.some((p) => p > 0 && p < 1)).toBe(true);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b)); // never moves back
    expect(fractions.every((p) => p >= 0 && p <= 1)).toBe(true);
    // The time left needs 3 s and a tenth of the work to extrapolate from (compileProgress.ts);
    // this compile takes longer than that on 2 cores.
    if (compileMs > 8000) expect(seen.some((a) => (a.etaSeconds ?? -1) >= 0)).toBe(true);
    expect(whep).toMatchObject({
      type: 'urn:avatar-server:problem:avatar_not_ready',
      progress: expect.any(Number),
    });

    const ready = await call(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', avatar: 'default' });
    // No demo folder was given, so the line names the WHEP endpoint to use.
    const readyLine = await until('the ready line', async () =>
      lines.find((l) => l.msg.startsWith('ready:')),
    );
    expect(readyLine.msg).toBe(`ready: WHEP at ${url}/whep/avatars/default`);
    expect(lines.filter((l) => l.msg.startsWith('ready:'))).toHaveLength(1);
  }, 180_000);
});

describe('readiness at shutdown', () => {
  it('SIGTERM-style close: /ready flips to 503 (draining) at once while /health and sessions carry on through the drain', async () => {
    // drainMs, the former name of drainTimeoutS, still works.
    const server = await startTestServer({ drainMs: 3000 });
    const client = new WhepTestClient();
    try {
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      expect((await client.connect(`${server.url}/whep/avatars/default`)).status).toBe(201);
      await client.waitForFrames(3);
      const closing = server.stop({ drain: true });
      const draining = await until('/ready to say draining', async () => {
        const response = await fetch(`${server.url}/ready`);
        return response.status === 503 ? response : undefined;
      });
      expect(draining.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(draining.headers.get('retry-after')).toBe('5');
      expect(await draining.json()).toMatchObject({
        type: 'urn:avatar-server:problem:server_draining',
        status: 503,
      });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      // The session still streams while the load balancer takes this node out.
      const before = client.frames.length;
      await client.waitForFrames(before + 5);
      await closing;
      await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    } finally {
      await client.close();
    }
  }, 60_000);
});
