import { decodeMarkers, LOOP, WhepTestClient, waitFor } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSessionId } from '../src/workers/protocol.js';
import { startTestServer, TEST_SIZE, type TestServer } from './support/testServer.js';

/**
 * The front/worker split (docs/architecture.md): sessions live in media worker threads, the HTTP
 * front reaches each one through the worker its id names, and one worker stopping ends only its
 * own sessions.
 */
let server: TestServer;
let endpoint: string;

beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
  endpoint = `${server.url}/whep/avatars/default`;
});
afterAll(async () => {
  await server?.stop();
});

/** A viewer streaming from the server, and the worker its session is on. */
async function viewer() {
  const client = new WhepTestClient();
  const response = await client.connect(endpoint);
  expect(response.status).toBe(201);
  const id = client.location.split('/').at(-1)!;
  const worker = parseSessionId(id)?.worker;
  expect(worker, `session id ${id} names its worker`).toBeDefined();
  await client.waitForFrames(3);
  return { client, id, worker: worker! };
}

/** The loops of the pictures received so far, decoded from their markers. */
async function loopsOf(client: WhepTestClient) {
  const frames = client.frames.slice();
  const markers = await decodeMarkers({
    input: Buffer.concat(frames.map((f) => f.annexB)),
    size: TEST_SIZE,
    format: 'h264',
  });
  return markers.map((m) => m?.loop);
}

type StatusBody = {
  sessions: { active: number };
  workers: Array<{ index: number; sessions: number; restarts: number }>;
};
const status = async () => (await (await fetch(`${server.url}/status`)).json()) as StatusBody;

const patchBody = (ufrag: string) =>
  `a=ice-ufrag:${ufrag}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:9 1 udp 1 127.0.0.1 9 typ host\r\n`;

describe('media workers', () => {
  it('places sessions on the least loaded worker and controls each one through the front', async () => {
    const a = await viewer();
    const b = await viewer();
    try {
      // Two workers, one session each: the second went to the worker without one.
      expect(new Set([a.worker, b.worker])).toEqual(new Set([0, 1]));
      const now = await status();
      expect(now.workers.map((w) => w.sessions)).toEqual([1, 1]);
      expect(now.sessions.active).toBe(2);

      for (const { client, id } of [a, b]) {
        // Speaking: the change takes effect on this session's worker and its viewer sees it.
        const speak = await fetch(`${client.location}/speaking`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ speaking: true }),
        });
        expect(speak.status).toBe(200);
        expect(await speak.json()).toMatchObject({ speaking: true, loop: 'speaking' });
        await client.waitForFrames(client.frames.length + 5);
        expect(await loopsOf(client)).toContain(LOOP.speaking);
        const got = await (await fetch(client.location)).json();
        expect(got).toMatchObject({ id, speaking: true });

        // PATCH: trickled candidates reach the session's peer (whose ICE ufrag decides).
        const ufrag = /a=ice-ufrag:(\S+)/.exec(client.pc.localDescription!.sdp)![1]!;
        const patch = (body: string) =>
          fetch(client.location, {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' },
            body,
          });
        expect((await patch(patchBody(ufrag))).status).toBe(204);
        const restart = await patch(patchBody('another-ufrag'));
        expect(restart.status).toBe(422);
        expect(((await restart.json()) as { detail: string }).detail).toMatch(/ICE restart/);
      }

      // DELETE ends that session only: the other one keeps streaming.
      expect((await fetch(a.client.location, { method: 'DELETE' })).status).toBe(200);
      expect((await fetch(a.client.location)).status).toBe(404);
      expect(server.media.size).toBe(1);
      await b.client.waitForFrames(b.client.frames.length + 10);
      expect((await fetch(b.client.location, { method: 'DELETE' })).status).toBe(200);
      expect(server.media.size).toBe(0);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });

  it('a worker that stops ends only its own sessions; it is restarted and the front keeps answering', async () => {
    const a = await viewer();
    const b = await viewer();
    try {
      expect(new Set([a.worker, b.worker])).toEqual(new Set([0, 1]));
      const [doomed, survivor] = a.worker === 0 ? [a, b] : [b, a];
      await server.media.thread(doomed.worker).terminate();

      // The survivor keeps streaming, pictures in order, while the other worker is gone.
      const before = survivor.client.frames.length;
      await survivor.client.waitForFrames(before + 25);
      const got = await fetch(survivor.client.location);
      expect(got.status).toBe(200);
      expect(((await got.json()) as { id: string }).id).toBe(survivor.id);

      // The stopped worker's session is gone (404), and the front still answers.
      expect((await fetch(doomed.client.location)).status).toBe(404);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);

      // A new worker took its place: it reports in /status and takes the next session.
      const after = await waitFor(
        async () => {
          const s = await status();
          return s.workers.length === 2 ? s : undefined;
        },
        { what: 'both workers in /status' },
      );
      expect(after.workers[doomed.worker]).toMatchObject({ restarts: 1, sessions: 0 });
      const c = await viewer();
      try {
        expect(c.worker).toBe(doomed.worker);
        await c.client.waitForFrames(c.client.frames.length + 5);
      } finally {
        await fetch(c.client.location, { method: 'DELETE' });
        await c.client.close();
      }
      await survivor.client.waitForFrames(survivor.client.frames.length + 5);
    } finally {
      for (const v of [a, b]) {
        await fetch(v.client.location, { method: 'DELETE' });
        await v.client.close();
      }
    }
  });
});
