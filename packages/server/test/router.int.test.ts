import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type MarkerAvatarDir,
  makeMarkerVideos,
  type StreamCreated,
  StreamsTestClient,
} from '@avatar-server/testkit';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AvatarRouter, createAvatarRouter } from '../src/index.js';
import { toneWav } from './support/audio.js';
import { TEST_SIZE } from './support/testServer.js';

/**
 * createAvatarRouter mounted in an existing express app at /api/avatar, as the original Node
 * backend mounted routes/avatar.js; with a token, as a backend in front of users would set.
 */

const TOKEN = 'backend-secret-123';
let dirs: MarkerAvatarDir;
let avatar: AvatarRouter;
let http: Server;
let base: string;

beforeAll(async () => {
  dirs = await makeMarkerVideos({ idleFrames: 30, speakingFrames: 30, size: TEST_SIZE });
  avatar = await createAvatarRouter({
    videosDir: dirs.videosDir,
    cacheDir: dirs.cacheDir,
    size: TEST_SIZE,
    bitrateKbps: 400,
    keyframeInterval: 10,
    x264Preset: 'ultrafast',
    tokens: [TOKEN],
    logger: pino({ level: 'silent' }),
  });
  await avatar.service.compiled;
  const app = express();
  app.get('/', (_req, res) => {
    res.send('the host app');
  });
  app.use('/api/avatar', avatar);
  http = createServer(app);
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  avatar?.close();
  http?.closeAllConnections();
  await new Promise((ok) => http?.close(ok));
  rmSync(dirs.root, { recursive: true, force: true });
});

const post = (path: string, body: unknown, token: string | null = TOKEN) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });

describe('createAvatarRouter in an existing express app', () => {
  it('serves the API under the mount path, next to the host app’s own routes', async () => {
    expect(await (await fetch(`${base}/`)).text()).toBe('the host app');
    const health = (await (await fetch(`${base}/api/avatar/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });

  it('POST /api/avatar/streams: URLs include the mount path, and a real peer plays it', async () => {
    const created = await post('/api/avatar/streams', { portrait_id: 'jesus_default' });
    expect(created.status).toBe(201);
    const body = (await created.json()) as StreamCreated & { session_token: string };
    expect(body.urls.answer).toMatch(
      new RegExp(`^${base}/api/avatar/streams/${body.id}/answer/[\\w-]{22}$`),
    );
    expect(body.urls.session).toBe(`${base}/api/avatar/whep/sessions/${body.id}`);
    const client = new StreamsTestClient();
    // The browser that answers holds the session's own token, not the backend's.
    const answered = await post(
      new URL(body.urls.answer).pathname,
      { type: 'answer', sdp: await client.answer(body.offer.sdp) },
      body.session_token,
    );
    expect(answered.status).toBe(200);
    try {
      await client.waitForFrames(10);
      expect(client.frames[0]!.keyframe, 'the first picture is a keyframe').toBe(true);
    } finally {
      const ended = await fetch(body.urls.session, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(ended.status).toBe(200);
      await client.close();
    }
  });

  it('has the audio routes: a /streams session with audio queues a WAV with the token, not without', async () => {
    const created = (await (await post('/api/avatar/streams', { audio: true })).json()) as {
      urls: { audio: string; session: string };
    };
    expect(created.urls.audio).toBe(`${created.urls.session}/audio`);
    expect(created.urls.audio).toContain('/api/avatar/');
    const send = (token: string | null) =>
      fetch(created.urls.audio, {
        method: 'POST',
        headers: {
          'Content-Type': 'audio/wav',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: toneWav([{ ms: 300, freq: 440 }]),
      });
    expect((await send(null)).status).toBe(401);
    const queued = await send(TOKEN);
    expect(queued.status).toBe(202);
    expect(await queued.json()).toMatchObject({ durationMs: 300, queued: 0 });
    const interrupted = await fetch(created.urls.audio, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(interrupted.status).toBe(200);
    await fetch(created.urls.session, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
  });

  it('401 with WWW-Authenticate without the token; a wrong token is named as such', async () => {
    const none = await post('/api/avatar/streams', {}, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await none.json()) as { detail: string }).detail).toMatch(/Authorization: Bearer/);
    const wrong = await post('/api/avatar/streams', {}, 'not-the-token-0');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(/not one of this server/);
  });

  it('use_ai: true without a frame processor is a clear 422, not a silent ignore', async () => {
    const response = await post('/api/avatar/streams', { video_id: 'jesus_default', use_ai: true });
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/);
    expect(((await response.json()) as { detail: string }).detail).toMatch(
      /no AI model.*frameProcessor/,
    );
  });

  it('has the configuration’s default limits without being given any (sessionRateLimit: 20 at once)', async () => {
    // Refused attempts count too, so this needs no session: POST without a token until 429.
    const statuses: number[] = [];
    for (let i = 0; i < 25 && !statuses.includes(429); i++) {
      statuses.push((await post('/api/avatar/streams', {}, null)).status);
    }
    expect(statuses.at(-1)).toBe(429);
    // The earlier tests of this file made a few requests from this address as well.
    expect(statuses.length).toBeLessThanOrEqual(20);
  });
});
