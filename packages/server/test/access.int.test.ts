import { Writable } from 'node:stream';
import { WhepTestClient } from '@avatar-server/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../src/index.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/** Limits and access: per-IP rate limit, static and signed tokens, strict ETags, no token in logs. */

const STATIC = 'static-backend-token-1';
const SECRET = 'access-test-secret-0123456789abcdef';
let server: TestServer;
let endpoint: string;
let offer: string;
const logs: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  server = await startTestServer(
    {
      tokens: [STATIC],
      tokenSecret: SECRET,
      strictEtags: true,
      corsOrigins: ['https://app.example'],
      sessionRateLimit: { perMinute: 6, burst: 8 },
    },
    { logger: pino({ level: 'debug' }, sink) },
  );
  endpoint = `${server.url}/whep/avatars/default`;
  const client = new WhepTestClient();
  await client.pc.setLocalDescription(await client.pc.createOffer());
  offer = client.pc.localDescription!.sdp;
  await client.close();
});
afterAll(async () => {
  await server?.stop();
});

/** POSTs from a distinct client address (X-Forwarded-For is trusted from loopback proxies). */
const post = (token: string | undefined, from: string, url = endpoint, body = offer) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': url.endsWith('/streams') ? 'application/json' : 'application/sdp',
      'X-Forwarded-For': from,
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body,
  });

/** DELETE with the creating token: with tokens set, a session obeys only it. */
async function end(location: string, token: string) {
  const response = await fetch(location, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
}

async function problem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await response.json()) as { detail: string };
}

describe('tokens', () => {
  it('401 with WWW-Authenticate: Bearer when the token is missing, unknown, forged or expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = mintToken('another-secret-that-is-32-chars-long', { exp: now + 60 });
    const expired = mintToken(SECRET, { exp: now - 1 });
    for (const token of [undefined, 'not-a-token', forged, expired]) {
      const response = await post(token, '10.0.0.1');
      const body = await problem(response, 401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      if (token === expired) expect(body.detail).toMatch(/expired/);
    }
  });

  it('403 when a signed token is for another avatar, on WHEP and /streams', async () => {
    const other = mintToken(SECRET, { avatar: 'someone-else', ttlSeconds: 60 });
    expect((await problem(await post(other, '10.0.0.2'), 403)).detail).toMatch(/someone-else/);
    const streams = await post(
      other,
      '10.0.0.2',
      `${server.url}/streams`,
      '{"video_id":"default"}',
    );
    await problem(streams, 403);
    const clips = await post(
      other,
      '10.0.0.2',
      `${server.url}/streams`,
      '{"gesture_video":"a.mp4","idle_video":"b.mp4"}',
    );
    await problem(clips, 403);
  });

  it('201 with a static token, a signed token for the avatar, or one for any avatar', async () => {
    const tokens = [
      STATIC,
      mintToken(SECRET, { avatar: 'default', ttlSeconds: 60 }),
      mintToken(SECRET, { avatar: ['x', 'default'], ttlSeconds: 60 }),
      mintToken(SECRET, { ttlSeconds: 60 }),
    ];
    for (const token of tokens) {
      const response = await post(token, '10.0.0.3');
      expect(response.status).toBe(201);
      await end(response.headers.get('location')!, token);
    }
  });

  it('never needs a token for a CORS preflight', async () => {
    const response = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    // The SDK's HTTP speaking change and DELETE from another origin are preflighted too.
    for (const [path, method] of [
      ['/whep/sessions/any/speaking', 'POST'],
      ['/whep/sessions/any', 'DELETE'],
    ] as const) {
      const preflight = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://app.example',
          'Access-Control-Request-Method': method,
          'Access-Control-Request-Headers': 'authorization,content-type',
        },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('access-control-allow-methods')).toContain(method);
    }
  });

  it('allows only the configured CORS origins (corsOrigins)', async () => {
    const response = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('strict ETags (strictEtags: true)', () => {
  it('428 without If-Match, 412 for a stale one, 204 for the current ETag or *', async () => {
    const created = await post(STATIC, '10.0.0.4');
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const etag = created.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1];
    const fragment = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n`;
    const patch = (ifMatch?: string) =>
      fetch(location, {
        method: 'PATCH',
        headers: {
          Authorization: `Bearer ${STATIC}`,
          'Content-Type': 'application/trickle-ice-sdpfrag',
          ...(ifMatch ? { 'If-Match': ifMatch } : {}),
        },
        body: fragment,
      });
    expect((await problem(await patch(), 428)).detail).toMatch(/If-Match/);
    expect((await problem(await patch('"0123456789abcdef"'), 412)).detail).toMatch(/ETag/);
    expect((await patch(etag)).status).toBe(204);
    expect((await patch('*')).status).toBe(204);
    // DELETE ignores ETags.
    await end(location, STATIC);
  });
});

describe('per-IP rate limit on session creation', () => {
  it('429 with Retry-After beyond the burst, per client address, WHEP and /streams together', async () => {
    const from = '10.1.1.1';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await post(undefined, from)).status);
    // Attempts count, even refused ones.
    expect(statuses, 'statuses of 8 attempts without a token').toEqual(Array(8).fill(401));
    const limited = await post(STATIC, from);
    expect((await problem(limited, 429)).detail).toMatch(/too many sessions/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await problem(await post(STATIC, from, `${server.url}/streams`, '{}'), 429);
    // Another address is not affected.
    const other = await post(STATIC, '10.1.1.2');
    expect(other.status).toBe(201);
    await end(other.headers.get('location')!, STATIC);
  });
});

describe('logs', () => {
  it('never contain a token or the secret', async () => {
    const signed = mintToken(SECRET, { ttlSeconds: 60 });
    const response = await post(signed, '10.2.2.2');
    expect(response.status).toBe(201);
    await end(response.headers.get('location')!, signed);
    const text = logs.join('');
    expect(text).toContain('POST'); // requests were logged
    expect(text).not.toContain(STATIC);
    expect(text).not.toContain(signed.split('.')[2]);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/Bearer/i);
  });
});
