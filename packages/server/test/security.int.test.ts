import { createSocket } from 'node:dgram';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { type StreamCreated, StreamsTestClient, WhepTestClient } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REMOTE_CANDIDATES } from '../src/session/SessionFactory.js';
import { MAX_CANDIDATE_PAIRS, REQUESTS_PER_CHECK } from '../src/webrtc/candidatePairs.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * The security review's findings (docs/reliability.md, "Security"), each reproduced against the
 * real server: a session obeys only whoever created it, operator pages are for operators, and
 * what one request can make the server do is bounded.
 */

const TOKEN = 'creator-backend-token-1';
const OTHER_TOKEN = 'another-customer-token-2';
const OPS = 'operator-token-0123456789';

/** The review's server: tokens required, an operator token, a small per-session request limit. */
let server: TestServer;
/** A server without tokens, whose URLs are built only for `avatars.example`, trusting no proxy. */
let open: TestServer;
let offer: string;
/** A browser-like offer: video, audio and a data channel, bundled. */
let fullOffer: string;
/** Requests one client may make to one session at once on `server`. */
const BURST = 40;

beforeAll(async () => {
  server = await startTestServer({
    tokens: [TOKEN, OTHER_TOKEN],
    operatorTokens: [OPS],
    sessionRequestRateLimit: { perMinute: 60, burst: BURST },
    handshakeTimeoutMs: 8000,
  });
  open = await startTestServer({
    allowedHosts: ['avatars.example'],
    trustProxy: [],
    operatorAccess: 'token',
    sessionRateLimit: { perMinute: 1, burst: 3 },
  });
  const client = new WhepTestClient({ dataChannel: false });
  await client.pc.setLocalDescription(await client.pc.createOffer());
  offer = client.pc.localDescription!.sdp;
  await client.close();
  const full = new WhepTestClient({ audio: true });
  await full.pc.setLocalDescription(await full.pc.createOffer());
  fullOffer = full.pc.localDescription!.sdp;
  await full.close();
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await open?.stop();
});

const auth = (token: string | undefined): Record<string, string> =>
  token ? { Authorization: `Bearer ${token}` } : {};

async function problem(response: Response, status: number, detail?: RegExp) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  if (detail) expect(JSON.parse(text).detail).toMatch(detail);
}

/** A request with headers fetch will not send (Host), straight over node:http. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function createStream(token: string | undefined): Promise<StreamCreated> {
  const response = await fetch(`${server.url}/streams`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(token) },
    body: '{}',
  });
  expect(response.status).toBe(201);
  return (await response.json()) as StreamCreated & { session_token?: string };
}

describe('high: session takeover through /status', () => {
  it('no public answer reveals a session id: /status and /metrics are for operators', async () => {
    const created = await createStream(TOKEN);
    // Reproduction: anyone read every session id from /status (and CORS let any page read it).
    const relayed = { 'X-Forwarded-For': '203.0.113.9' };
    await problem(await fetch(`${server.url}/status`, { headers: relayed }), 401, /operators/);
    await problem(await fetch(`${server.url}/metrics`, { headers: relayed }), 401, /operators/);
    // A page of another site, in a browser on this machine, is not an operator either…
    const fromPage = { Origin: 'https://evil.example' };
    await problem(await fetch(`${server.url}/status`, { headers: fromPage }), 401);
    // …nor a DNS-rebinding page (its own name in Host).
    const rebound = await raw(`${server.url}/status`, { headers: { Host: 'evil.example:80' } });
    expect(rebound.status).toBe(401);
    expect(rebound.body).not.toContain(created.id);
    // An operator token, or curl on this machine (the README's `curl localhost:8765/status`); checked
    // first, while the unanswered session is surely alive (the other server below takes a while).
    const withToken = await fetch(`${server.url}/status`, {
      headers: { ...relayed, ...auth(OPS) },
    });
    expect(withToken.status).toBe(200);
    expect(JSON.stringify(await withToken.json())).toContain(created.id);
    expect((await fetch(`${server.url}/status`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`, { headers: auth(OPS) })).status).toBe(200);
    // From another machine: the server's own non-loopback address, when it has one.
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((i) => i?.family === 'IPv4' && !i.internal)?.address;
    if (lan) {
      const remote = await startTestServer({ host: '0.0.0.0' });
      try {
        const response = await fetch(`http://${lan}:${remote.port}/status`);
        await problem(response, 403, /from this machine/);
        // The same server answers curl on localhost, as the README shows.
        expect((await fetch(`http://localhost:${remote.port}/status`)).status).toBe(200);
      } finally {
        await remote.stop();
      }
    }
    // /health stays open, and shows no session id.
    const health = await fetch(`${server.url}/health`, { headers: relayed });
    expect(health.status).toBe(200);
    expect(await health.text()).not.toContain(created.id);
    // A server with operatorAccess: token and no operator token: nobody, not even localhost.
    await problem(await fetch(`${open.url}/status`), 403, /operatorTokens/);
    await fetch(created.urls.session, { method: 'DELETE', headers: auth(TOKEN) });
  });

  it('/avatars shows anyone only id and state; operators get the details', async () => {
    const publicList = (await (
      await fetch(`${server.url}/avatars`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })
    ).json()) as Array<Record<string, unknown>>;
    expect(publicList).toEqual([{ id: 'default', state: 'ready' }]);
    const one = await fetch(`${server.url}/avatars/default`, {
      headers: { Origin: 'https://x.example' },
    });
    expect(await one.json()).toEqual({ id: 'default', state: 'ready' });
    const full = (await (
      await fetch(`${server.url}/avatars/default`, { headers: auth(OPS) })
    ).json()) as Record<string, unknown>;
    expect(full).toMatchObject({ id: 'default', state: 'ready', fps: 25 });
    expect(full.scores).toBeDefined();
  });

  it('a /streams session obeys only its creator: answer, speaking, GET, PATCH and DELETE', async () => {
    const created = (await createStream(TOKEN)) as StreamCreated & { session_token: string };
    const session = created.urls.session;
    // Reproduction: the attacker posted its own answer at /streams/<id>/answer (200), so the real
    // client's answer got 409. That URL now leads nowhere; the answer URL carries its own secret.
    const attacker = new StreamsTestClient();
    const forged = await attacker.answer(created.offer.sdp);
    const answer = (url: string, sdp: string, token?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...auth(token) },
        body: JSON.stringify({ type: 'answer', sdp }),
      });
    await problem(await answer(`${server.url}/streams/${created.id}/answer`, forged, TOKEN), 404);
    await problem(
      await answer(`${server.url}/streams/${created.id}/answer/guessed-key`, forged, TOKEN),
      404,
      /urls\.answer/,
    );
    // Even with the answer URL: without the creating token, or with another customer's, 401.
    await problem(await answer(created.urls.answer, forged), 401, /created it/);
    await problem(await answer(created.urls.answer, forged, OTHER_TOKEN), 401);
    await attacker.close();
    // Switching or ending someone else's session: 401 without the creator's token.
    for (const token of [undefined, OTHER_TOKEN]) {
      const speak = await fetch(created.urls.speaking, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...auth(token) },
        body: '{"speaking":true}',
      });
      await problem(speak, 401);
      await problem(await fetch(session, { headers: auth(token) }), 401);
      await problem(await fetch(session, { method: 'DELETE', headers: auth(token) }), 401);
      const patch = await fetch(session, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...auth(token) },
        body: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n',
      });
      await problem(patch, 401);
    }
    // The real client answers with the session token of the 201 (its backend kept TOKEN) and plays.
    const client = new StreamsTestClient();
    const sdp = await client.answer(created.offer.sdp);
    expect((await answer(created.urls.answer, sdp, created.session_token)).status).toBe(200);
    await client.waitForFrames(5);
    const speak = await fetch(created.urls.speaking, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth(created.session_token) },
      body: '{"speaking":true}',
    });
    expect(speak.status).toBe(200);
    // The backend's own token works too; the session ends only for its owner.
    expect((await fetch(session, { headers: auth(TOKEN) })).status).toBe(200);
    expect((await fetch(session, { method: 'DELETE', headers: auth(TOKEN) })).status).toBe(200);
    await client.close();
  });

  it('a WHEP session obeys its creating token even after that token would have expired', async () => {
    // A signed token is checked for expiry at creation only: the session can still be ended.
    const client = new WhepTestClient();
    await client.pc.setLocalDescription(await client.pc.createOffer());
    const created = await fetch(`${server.url}/whep/avatars/default`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', ...auth(TOKEN) },
      body: client.pc.localDescription!.sdp,
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    await problem(await fetch(location, { method: 'DELETE' }), 401);
    expect((await fetch(location, { method: 'DELETE', headers: auth(TOKEN) })).status).toBe(200);
    await client.close();
  });

  it('without tokens, the answer URL is still the only way to answer', async () => {
    const created = await raw(`${open.url}/streams`, {
      method: 'POST',
      headers: { Host: 'avatars.example', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(created.status).toBe(201);
    const body = JSON.parse(created.body) as StreamCreated & { session_token?: string };
    expect(body.session_token).toBeUndefined();
    const path = (url: string) => new URL(url).pathname;
    expect(body.urls.answer).toMatch(
      /^http:\/\/avatars\.example\/streams\/[\w.-]+\/answer\/[\w-]{22}$/,
    );
    const client = new StreamsTestClient();
    const sdp = await client.answer(body.offer.sdp);
    const post = (p: string) =>
      fetch(`${open.url}${p}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'answer', sdp }),
      });
    await problem(await post(`/streams/${body.id}/answer`), 404, /answer key/);
    await problem(await post(`${path(body.urls.answer)}x`), 404);
    expect((await post(path(body.urls.answer))).status).toBe(200);
    await client.waitForFrames(3);
    expect(
      (await fetch(`${open.url}${path(body.urls.session)}`, { method: 'DELETE' })).status,
    ).toBe(200);
    await client.close();
  });
});

/** `count` host candidates, each at a different loopback address, all on `port`. */
function candidates(count: number, port: number): string[] {
  return Array.from(
    { length: count },
    (_, i) =>
      `a=candidate:${i + 1} 1 udp ${2_000_000_000 - i} 127.0.${1 + (i >> 8)}.${(i % 250) + 2} ${port} typ host`,
  );
}

/** The test offer with its candidates replaced by `lines`. */
function offerWith(lines: string[]): string {
  const kept = offer.split('\r\n').filter((l) => !l.startsWith('a=candidate:'));
  const at = kept.findIndex((l) => l.startsWith('a=end-of-candidates'));
  kept.splice(at, 0, ...lines);
  return kept.join('\r\n');
}

const postOffer = (sdp: string, token = TOKEN) =>
  fetch(`${server.url}/whep/avatars/default`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...auth(token) },
    body: sdp,
  });

describe('high: STUN to addresses a client names', () => {
  it(`refuses more than ${MAX_REMOTE_CANDIDATES} candidates in an offer, an answer or PATCHes`, async () => {
    const before = server.media.size;
    await problem(await postOffer(offerWith(candidates(200, 9))), 422, /ICE candidates/);
    expect(server.media.size).toBe(before);

    const created = await createStream(TOKEN);
    const client = new StreamsTestClient();
    const sdp = (await client.answer(created.offer.sdp)).replace(
      /(a=end-of-candidates)/,
      `${candidates(200, 9).join('\r\n')}\r\n$1`,
    );
    const answered = await fetch(created.urls.answer, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth(TOKEN) },
      body: JSON.stringify({ type: 'answer', sdp }),
    });
    await problem(answered, 422, /ICE candidates/);
    await client.close();
    await fetch(created.urls.session, { method: 'DELETE', headers: auth(TOKEN) });

    const whep = await postOffer(offer);
    expect(whep.status).toBe(201);
    const location = whep.headers.get('location')!;
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1];
    const patch = (lines: string[]) =>
      fetch(location, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...auth(TOKEN) },
        body: `a=ice-ufrag:${ufrag}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n${lines.join('\r\n')}\r\n`,
      });
    expect((await patch(candidates(20, 9))).status).toBe(204);
    await problem(await patch(candidates(MAX_REMOTE_CANDIDATES, 9)), 422, /ICE candidates/);
    await fetch(location, { method: 'DELETE', headers: auth(TOKEN) });
  });

  it('sends no more connectivity checks than ICE paces for a capped number of pairs', async () => {
    // A UDP port of "the victim's": every STUN request the server sends there is counted.
    const victim = createSocket('udp4');
    let requests = 0;
    victim.on('message', (m) => {
      if (m.length >= 20 && m.readUInt16BE(0) === 0x0001) requests++;
    });
    await new Promise<void>((ok) => victim.bind(0, '0.0.0.0', ok));
    const port = victim.address().port;
    try {
      const response = await postOffer(offerWith(candidates(MAX_REMOTE_CANDIDATES, port)));
      expect(response.status).toBe(201);
      // Wait until the checks stop (each pair's request and retransmissions span ~1.6 s).
      let last = -1;
      const deadline = Date.now() + 30_000;
      while (requests === 0 || requests !== last) {
        if (Date.now() > deadline) break;
        last = requests;
        await new Promise((r) => setTimeout(r, 2500));
      }
      if (process.env.TEST_REPORT)
        console.log(`STUN requests to client-named addresses: ${requests}`);
      expect(requests).toBeGreaterThan(0);
      // Without the pair cap: every local address × 50 candidates × 5 requests.
      expect(requests).toBeLessThanOrEqual(MAX_CANDIDATE_PAIRS * REQUESTS_PER_CHECK);
      await fetch(response.headers.get('location')!, { method: 'DELETE', headers: auth(TOKEN) });
    } finally {
      victim.close();
    }
  }, 60_000);
});

describe('medium: an offer with hundreds of sections', () => {
  /** The test offer plus `count` more minimal sections of `kind`, bundled or not. */
  const withSections = (kind: string, count: number) => {
    const extra = Array.from(
      { length: count },
      (_, i) =>
        `m=${kind} 9 UDP/TLS/RTP/SAVPF 97\r\nc=IN IP4 0.0.0.0\r\na=mid:${i + 1}\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42e01f;packetization-mode=1\r\n`,
    );
    const mids = Array.from({ length: count + 1 }, (_, i) => i).join(' ');
    return offer.replace(/a=group:BUNDLE[^\r\n]*/, `a=group:BUNDLE ${mids}`) + extra.join('');
  };

  it('refuses 150 video sections with 422 before any session or socket exists', async () => {
    const before = server.media.size;
    const sdp = withSections('video', 149);
    expect(sdp.length).toBeGreaterThan(20_000);
    await problem(await postOffer(sdp), 422, /150 video sections/);
    expect(server.media.size).toBe(before);
  });

  it('refuses a second audio section, an unknown kind and unbundled sections', async () => {
    await problem(await postOffer(withSections('audio', 2)), 422, /2 audio sections/);
    await problem(await postOffer(withSections('text', 1)), 422, /'text' section/);
    const unbundled = fullOffer.replace(/a=group:BUNDLE[^\r\n]*\r\n/, '');
    await problem(await postOffer(unbundled), 422, /not bundled/);
    // What a browser offers (video, audio, data channel, bundled) is fine.
    const fine = await postOffer(fullOffer);
    expect(fine.status).toBe(201);
    await fetch(fine.headers.get('location')!, { method: 'DELETE', headers: auth(TOKEN) });
  });
});

describe('medium: every session endpoint is rate-limited', () => {
  it('429 with Retry-After beyond the per-session burst, for GET, speaking and PATCH alike', async () => {
    const created = await postOffer(offer);
    const location = created.headers.get('location')!;
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i++) {
      const r = await fetch(i % 2 ? location : `${location}/speaking`, { headers: auth(TOKEN) });
      statuses.push(r.status);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    const limited = await fetch(location, { method: 'DELETE', headers: auth(TOKEN) });
    await problem(limited, 429, /too many requests to this session/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another client address has its own bucket, and can end its session.
    const other = await fetch(location, {
      method: 'DELETE',
      headers: { ...auth(TOKEN), 'X-Forwarded-For': '198.51.100.7' },
    });
    expect(other.status).toBe(200);
    // Guessing ids is limited too: unknown ids share one bucket per address.
    const guesses: number[] = [];
    for (let i = 0; i <= BURST; i++) {
      guesses.push((await fetch(`${server.url}/whep/sessions/guess${i}`)).status);
    }
    expect(guesses.slice(0, BURST).every((s) => s === 404)).toBe(true);
    expect(guesses.at(-1)).toBe(429);
  });
});

describe('low: Host, X-Forwarded-Proto and trust proxy', () => {
  it('builds URLs from allowed hosts only, and only http/https from a proxy', async () => {
    const create = (headers: Record<string, string>) =>
      raw(`${server.url}/whep/avatars/default`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...auth(TOKEN), ...headers },
        body: offer,
      });
    // Reproduction: Host: evil.example/x? gave Location: http://evil.example/x?/whep/…
    const injected = await create({ Host: 'evil.example/x?' });
    expect(injected.status).toBe(400);
    expect(injected.headers.location).toBeUndefined();
    // A trusted (loopback) proxy's X-Forwarded-Proto: only http or https.
    const proto = await create({ 'X-Forwarded-Proto': 'javascript' });
    expect(proto.status).toBe(201);
    expect(String(proto.headers.location)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/whep\/sessions\//);
    await fetch(String(proto.headers.location), { method: 'DELETE', headers: auth(TOKEN) });
    const https = await create({ 'X-Forwarded-Proto': 'https' });
    expect(String(https.headers.location)).toMatch(/^https:\/\//);
    await fetch(String(https.headers.location).replace(/^https/, 'http'), {
      method: 'DELETE',
      headers: auth(TOKEN),
    });
    // With allowedHosts, another Host is refused.
    const elsewhere = await raw(`${open.url}/streams`, {
      method: 'POST',
      headers: { Host: 'evil.example', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(elsewhere.status).toBe(400);
    expect(JSON.parse(elsewhere.body).detail).toMatch(/allowedHosts/);
  });

  it('trustProxy: [] believes no X-Forwarded-For, so a spoofed address gets no fresh bucket', async () => {
    // `open` allows 3 sessions at once per client and trusts no proxy: the posts share the
    // socket's bucket whatever X-Forwarded-For claims (trusted, each would get its own bucket).
    const statuses: number[] = [];
    for (let i = 0; i < 5 && !statuses.includes(429); i++) {
      const response = await raw(`${open.url}/whep/avatars/default`, {
        method: 'POST',
        headers: {
          Host: 'avatars.example',
          'Content-Type': 'application/sdp',
          'X-Forwarded-For': `10.9.9.${i + 1}`,
        },
        body: offer,
      });
      statuses.push(response.status);
    }
    expect(statuses).toContain(429);
  });
});
