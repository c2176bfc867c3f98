import { WhepTestClient } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/testServer.js';

let server: TestServer;
let endpoint: string;
let validOffer: string;

beforeAll(async () => {
  server = await startTestServer({ handshakeTimeoutMs: 1000 });
  endpoint = `${server.url}/whep/avatars/default`;
  const client = new WhepTestClient();
  await client.pc.setLocalDescription(await client.pc.createOffer());
  validOffer = client.pc.localDescription!.sdp;
  await client.close();
});
afterAll(async () => {
  await server?.stop();
});

async function expectProblem(response: Response, status: number, detail: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as {
    status: number;
    detail: string;
    type: string;
    title: string;
  };
  expect(body.status).toBe(status);
  expect(body.title).toBeTruthy();
  expect(body.type).toMatch(/^urn:avatar-server:problem:/);
  expect(body.detail).toMatch(detail);
  return body;
}

const post = (url: string, body: string, type = 'application/sdp') =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body });

describe('WHEP errors are problem+json with a useful detail', () => {
  it('415 for a wrong content type', async () => {
    await expectProblem(await post(endpoint, validOffer, 'text/plain'), 415, /application\/sdp/);
  });

  it('400 for a body that is not SDP', async () => {
    await expectProblem(await post(endpoint, 'hello'), 400, /v=0/);
    await expectProblem(await post(endpoint, 'v=0\r\ns=-\r\n'), 400, /m=|o=/);
  });

  it('422 for an offer without H.264', async () => {
    const vp8Only = validOffer
      .replace(/a=rtpmap:(\d+) H264\/90000/g, 'a=rtpmap:$1 VP8/90000')
      .replace(/a=fmtp:.*\r\n/g, '');
    await expectProblem(await post(endpoint, vp8Only), 422, /H\.264/);
  });

  it('422 for an offer that only sends video', async () => {
    await expectProblem(
      await post(endpoint, validOffer.replace('a=recvonly', 'a=sendonly')),
      422,
      /recvonly/,
    );
  });

  it('404 for an unknown avatar, naming the known ones', async () => {
    await expectProblem(
      await post(`${server.url}/whep/avatars/nobody`, validOffer),
      404,
      /nobody.*default/,
    );
  });

  it('404 for an unknown session on DELETE, GET and speaking', async () => {
    const url = `${server.url}/whep/sessions/does-not-exist`;
    await expectProblem(await fetch(url, { method: 'DELETE' }), 404, /does-not-exist/);
    await expectProblem(await fetch(url), 404, /does-not-exist/);
    await expectProblem(
      await post(`${url}/speaking`, '{"speaking":true}', 'application/json'),
      404,
      /does-not-exist/,
    );
  });

  it('400 for a speaking request without a boolean, or with broken JSON', async () => {
    const client = new WhepTestClient();
    try {
      expect((await client.connect(endpoint)).status).toBe(201);
      await expectProblem(
        await post(`${client.location}/speaking`, '{"speaking":"yes"}', 'application/json'),
        400,
        /speaking/,
      );
      await expectProblem(
        await post(`${client.location}/speaking`, '{"speaking":', 'application/json'),
        400,
        /JSON/,
      );
    } finally {
      await client.close();
    }
  });

  it('405 with Allow for a wrong method', async () => {
    const body = await expectProblem(await fetch(endpoint, { method: 'PUT' }), 405, /POST/);
    expect(body.detail).toContain('POST');
    const response = await fetch(endpoint, { method: 'PUT' });
    expect(response.headers.get('allow')).toContain('POST');
  });

  it('413 for an offer over 128 KiB', async () => {
    await expectProblem(await post(endpoint, `v=0\r\n${'a=x\r\n'.repeat(40_000)}`), 413, /128 KiB/);
  });

  it('404 problem for an unknown path; CORS preflight exposes the WHEP headers', async () => {
    await expectProblem(await fetch(`${server.url}/nothing-here`), 404, /nothing-here/);
    const preflight = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,authorization',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);
    const answered = await post(endpoint, 'hello');
    expect(answered.headers.get('access-control-expose-headers')).toMatch(/Location.*ETag/);
  });

  it('drops a session whose viewer never completes the handshake', async () => {
    const response = await post(endpoint, validOffer); // an offer nobody will ever answer from
    expect(response.status).toBe(201);
    const location = response.headers.get('location')!;
    expect((await fetch(location)).status, 'the session exists at first').toBe(200);
    // handshakeTimeoutMs is 1 s here; the bound is generous for a loaded machine.
    await expect
      .poll(async () => (await fetch(location)).status, {
        timeout: 10_000,
        message: 'the session ends once the handshake timeout passes',
      })
      .toBe(404);
  });

  it('takes trickled candidates with PATCH (204), and refuses an ICE restart (422) or another type (415)', async () => {
    const client = new WhepTestClient();
    try {
      expect((await client.connect(endpoint)).status).toBe(201);
      const patch = (body: string, type = 'application/trickle-ice-sdpfrag') =>
        fetch(client.location, {
          method: 'PATCH',
          headers: { 'Content-Type': type, 'If-Match': '*' },
          body,
        });
      const ownUfrag = /a=ice-ufrag:(\S+)/.exec(client.pc.localDescription!.sdp)![1];
      const trickle = `a=ice-ufrag:${ownUfrag}\r\na=ice-pwd:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n`;
      expect((await patch(trickle)).status).toBe(204);
      await expectProblem(await patch(trickle.replace(ownUfrag!, 'restart1')), 422, /ICE restart/);
      await expectProblem(await patch(trickle, 'application/sdp'), 415, /trickle-ice-sdpfrag/);
    } finally {
      await client.close();
    }
  });

  it('refuses an offer whose H.264 profiles all differ from ours with 422', async () => {
    const highOnly = validOffer.replace(/profile-level-id=42e01f/g, 'profile-level-id=640c1f');
    await expectProblem(await post(endpoint, highOnly), 422, /codec/);
  });

  it('answers OPTIONS on the endpoint with Accept-Post', async () => {
    const response = await fetch(endpoint, { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('accept-post')).toBe('application/sdp');
  });

  it('GET /health answers, and a bad request never disturbs the server', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });
});

describe('limits', () => {
  it('answers 503 with Retry-After beyond maxSessions, and accepts again once a session ends', async () => {
    const small = await startTestServer({ maxSessions: 1, switchWaitFrames: 2 });
    // The setting reaches every media worker, so every session.
    const workers = await small.media.snapshot();
    expect(workers.length).toBe(small.media.count);
    for (const w of workers) expect(w.switchWaitFrames).toBe(2);
    const url = `${small.url}/whep/avatars/default`;
    try {
      const first = await post(url, validOffer);
      expect(first.status).toBe(201);
      const second = await post(url, validOffer);
      await expectProblem(second, 503, /limit of 1 session/);
      expect(second.headers.get('retry-after')).toBe('5');
      await fetch(first.headers.get('location')!, { method: 'DELETE' });
      expect((await post(url, validOffer)).status).toBe(201);
    } finally {
      await small.stop();
    }
  });
});
