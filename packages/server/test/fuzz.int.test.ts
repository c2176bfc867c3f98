import { WhepTestClient } from '@avatar-server/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FuzzRequest, fuzzRequest } from './support/fuzzRequests.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * Property: whatever arrives, the server answers 2xx or a 4xx problem+json — never a 5xx, never a
 * crash (vitest fails the run on an unhandled error) — and a healthy viewer keeps its frames.
 * 1 000 runs of 10 concurrent requests: 10 000 requests. FUZZ_RUNS overrides the count.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
/**
 * CI runs one fixed seed, so a landing never depends on luck; a developer's run explores a new
 * seed each time (fast-check prints it on failure), and FUZZ_SEED replays one.
 */
const SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : process.env.CI
    ? 20261129
    : undefined;
const BATCH = 10;

let server: TestServer;
let healthy: WhepTestClient;
let validOffer: string;

beforeAll(async () => {
  // clipRequests on, so hostile clip paths reach the path checks (media/clipPair.ts).
  server = await startTestServer({ handshakeTimeoutMs: 2000, clipRequests: true });
  const probe = new WhepTestClient({ audio: true });
  await probe.pc.setLocalDescription(await probe.pc.createOffer());
  validOffer = probe.pc.localDescription!.sdp;
  await probe.close();
  healthy = new WhepTestClient();
  expect((await healthy.connect(`${server.url}/whep/avatars/default`)).status).toBe(201);
  await healthy.waitForFrames(10);
});
afterAll(async () => {
  await healthy?.close();
  await server?.stop();
});

function urlOf(request: FuzzRequest, other: string): string {
  const session = new URL(healthy.location).pathname;
  return (
    server.url +
    request.path.replace('{session}', session).replace('{other}', `/whep/sessions/${other}`)
  );
}

/** Sends one request and checks the answer; a created session is deleted at once. */
async function check(request: FuzzRequest, other: string) {
  const headers: Record<string, string> = {};
  if (request.contentType !== undefined) headers['Content-Type'] = request.contentType;
  if (request.ifMatch !== undefined) headers['If-Match'] = request.ifMatch;
  const hasBody = !['GET', 'HEAD'].includes(request.method) && request.body !== undefined;
  const response = await fetch(urlOf(request, other), {
    method: request.method,
    headers,
    ...(hasBody ? { body: request.body } : {}),
  });
  const text = await response.text();
  const what = `${request.method} ${request.path} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, what).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
    if (request.method !== 'HEAD') expect(JSON.parse(text).status, what).toBe(response.status);
  }
  if (response.status === 201) {
    const location = response.headers.get('location');
    expect(location, what).toBeTruthy();
    if (request.path.startsWith('/whep/')) {
      expect(response.headers.get('content-type'), what).toMatch(/^application\/sdp/);
      expect(text, what).toMatch(/^v=0\r\n[\s\S]*^m=video [1-9]/m);
    } else {
      expect(JSON.parse(text).offer.sdp, what).toMatch(/^v=0/);
    }
    // The session may already have ended on its own (an offer whose candidates fail ICE at once,
    // or a concurrent generated DELETE): a 404 problem then is the right answer.
    const deleted = await fetch(location!, { method: 'DELETE' });
    expect([200, 404], what).toContain(deleted.status);
  }
}

describe('fuzz: generated and mutated requests', () => {
  it(`answers ${RUNS * BATCH} hostile requests with 2xx or 4xx problems while a viewer streams`, async () => {
    const framesBefore = healthy.frames.length;
    const startedAt = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fuzzRequest(validOffer), { minLength: BATCH, maxLength: BATCH }),
        fc.string({ minLength: 1, maxLength: 40 }),
        async (requests, other) => {
          await Promise.all(requests.map((r) => check(r, encodeURIComponent(other))));
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    const elapsedS = (performance.now() - startedAt) / 1000;
    // Every created session was deleted; the healthy one is the only one left.
    expect(server.media.size).toBe(1);
    // The healthy viewer kept receiving frames throughout (25 fps; at least half of them here,
    // where the fuzzing client shares the server's two cores and event loop).
    const received = healthy.frames.length - framesBefore;
    expect(received).toBeGreaterThan(elapsedS * 25 * 0.5);
    const gaps = healthy.frames
      .slice(framesBefore)
      .map((f, i, all) => (i === 0 ? 0 : f.receivedAt - all[i - 1]!.receivedAt));
    expect(Math.max(...gaps)).toBeLessThan(1000);
    await healthy.waitForFrames(healthy.frames.length + 25);
  }, 180_000);
});
