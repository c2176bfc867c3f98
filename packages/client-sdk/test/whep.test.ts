import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AvatarError } from '../src/errors.js';
import { latencySummary, percentile } from '../src/stats.js';
import type { AvatarWait } from '../src/types.js';
import { parseIceLinks, postOffer, retryAfterMs, tokenSource } from '../src/whep.js';

describe('parseIceLinks', () => {
  it('reads ice-server links with credentials and skips other relations', () => {
    const header =
      '<stun:stun.example.net>; rel="ice-server", <turn:turn.example.net?transport=udp>; ' +
      'rel="ice-server"; username="user"; credential="pass"; credential-type="password", ' +
      '<https://example.net/doc>; rel="help"';
    expect(parseIceLinks(header)).toEqual([
      { urls: 'stun:stun.example.net' },
      { urls: 'turn:turn.example.net?transport=udp', username: 'user', credential: 'pass' },
    ]);
  });

  it('gives none for no header', () => {
    expect(parseIceLinks(null)).toEqual([]);
  });
});

describe('AvatarError.fromProblem', () => {
  it.each([
    [401, 'unauthorized'],
    [404, 'not-found'],
    [406, 'not-acceptable'],
    [422, 'not-acceptable'],
    [429, 'unavailable'],
    [503, 'unavailable'],
    [400, 'bad-request'],
    [500, 'server'],
  ] as const)('%i → %s', (status, reason) => {
    expect(AvatarError.fromProblem(status).reason).toBe(reason);
  });

  it("keeps the server's detail as the message", () => {
    const error = AvatarError.fromProblem(404, { title: 'Not Found', detail: "no avatar 'x'" });
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("no avatar 'x'");
    expect(error.problem?.title).toBe('Not Found');
  });
});

describe('latency figures', () => {
  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([], 50)).toBeUndefined();
    expect(latencySummary([30, 10, 20])).toEqual({ last: 20, p50: 20, p95: 30, count: 3 });
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const within = (ms: number, low: number) => ms >= low && ms <= low + 1000;
  it('reads seconds and HTTP dates, plus up to 1 s of jitter', () => {
    expect(within(retryAfterMs('5', now), 5000)).toBe(true);
    expect(within(retryAfterMs('Wed, 01 Jan 2025 00:00:07 GMT', now), 7000)).toBe(true);
  });

  it('never waits under a second, and 2 s for a missing or unreadable value', () => {
    for (const value of ['0', '-3', 'Tue, 31 Dec 2024 23:00:00 GMT']) {
      expect(within(retryAfterMs(value, now), 1000)).toBe(true);
    }
    for (const value of [null, '', 'soon'])
      expect(within(retryAfterMs(value, now), 2000)).toBe(true);
  });
});

describe('postOffer while the avatar is being prepared', () => {
  /** A WHEP endpoint that answers 503 (first compile) to the first offers, then 201. */
  async function compilingServer(answers: { progress?: number; etaSeconds?: number }[]) {
    const server = createServer((_req, res) => {
      const next = answers.shift();
      if (!next) {
        res.writeHead(201, { 'Content-Type': 'application/sdp', Location: '/whep/sessions/s1' });
        res.end('v=0\r\n');
        return;
      }
      res.writeHead(503, { 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
      res.end(
        JSON.stringify({
          type: 'urn:avatar-server:problem:avatar_not_ready',
          status: 503,
          detail: "avatar 'default' is still compiling; retry shortly",
          ...next,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/whep/avatars/default`, server };
  }

  it("reports each wait with the server's reason, Retry-After and progress, then answers", async () => {
    const { url, server } = await compilingServer([{ progress: 0.25, etaSeconds: 12 }, {}]);
    try {
      const waits: AvatarWait[] = [];
      const answer = await postOffer(url, 'v=0', tokenSource(undefined), undefined, (w) =>
        waits.push(w),
      );
      expect(answer.sessionUrl).toMatch(/\/whep\/sessions\/s1$/);
      expect(waits).toHaveLength(2);
      expect(waits[0]).toMatchObject({ progress: 0.25, etaSeconds: 12 });
      // The server that sends no progress yet (or an older one): the reason and the wait only.
      expect(waits[1]?.progress).toBeUndefined();
      for (const w of waits) {
        expect(w.error.status).toBe(503);
        expect(w.error.problem?.type).toMatch(/avatar_not_ready$/);
        expect(w.error.message).toMatch(/still compiling/);
        expect(w.retryInMs).toBeGreaterThanOrEqual(1000);
        expect(w.retryInMs).toBeLessThanOrEqual(2000);
      }
    } finally {
      server.close();
    }
  });
});
