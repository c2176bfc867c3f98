import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeMarkers,
  LOOP,
  type MarkerAvatarDir,
  makeMarkerClip,
  makeMarkerVideos,
  type StreamCreated,
  StreamsTestClient,
  WhepTestClient,
  waitFor,
} from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSessionId } from '../src/workers/protocol.js';
import {
  freePorts,
  type HaproxyProcess,
  type NodeProcess,
  startHaproxy,
  startNode,
} from './support/cluster.js';

/**
 * A cluster as issue "Beyond one machine" asks for: three server processes on loopback (their own
 * HTTP ports, UDP ranges and media workers, one videos folder and one cache folder) behind HAProxy
 * (round-robin, no stickiness, health checks on /ready). Everything a viewer does goes through
 * HAProxy, so a request lands on whichever node is next, not necessarily the session's owner.
 */

const SIZE = 128;
const TOKEN = 'cluster-test-token-0123';
const SECRET = randomBytes(24).toString('base64url');
const DRAIN_S = 8;
const auth = { Authorization: `Bearer ${TOKEN}` };

let dirs: MarkerAvatarDir;
let nodes: NodeProcess[] = [];
let lb: HaproxyProcess;
const clients: WhepTestClient[] = [];

beforeAll(async () => {
  dirs = await makeMarkerVideos({ idleFrames: 50, speakingFrames: 40, size: SIZE });
  const ids = ['node-a', 'node-b', 'node-c'];
  const ports = await freePorts(3);
  const udpBase = 42_000 + Math.floor(Math.random() * 60) * 300;
  const members = ids.map((id, i) => `${id}=http://127.0.0.1:${ports[i]}`).join(',');
  nodes = ids.map((id, i) =>
    startNode(id, ports[i]!, {
      AVATAR_VIDEOS_DIR: dirs.videosDir,
      AVATAR_CACHE_DIR: dirs.cacheDir,
      AVATAR_SIZE: String(SIZE),
      AVATAR_BITRATE_KBPS: '400',
      AVATAR_KEYFRAME_INTERVAL: '10',
      AVATAR_X264_PRESET: 'ultrafast',
      AVATAR_LOOP_TRIM: 'false',
      AVATAR_WORKERS: '1',
      AVATAR_ICE_PORT_RANGE: `${udpBase + i * 100},${udpBase + i * 100 + 99}`,
      AVATAR_TOKENS: TOKEN,
      AVATAR_CLUSTER_SECRET: SECRET,
      AVATAR_CLUSTER_NODES: members,
      AVATAR_DRAIN_TIMEOUT_S: String(DRAIN_S),
      AVATAR_VIDEOS_RESCAN_S: '1',
    }),
  );
  // All three start at once on an empty cache folder: one compiles, the others wait for it.
  await Promise.all(
    nodes.map((node) =>
      waitFor(
        async () => {
          if (node.child.exitCode !== null) {
            throw new Error(`${node.id} exited: ${node.output().slice(-2000)}`);
          }
          const ready = await fetch(`${node.url}/ready`).catch(() => undefined);
          return ready?.status === 200;
        },
        { timeoutMs: 150_000, intervalMs: 200, what: `${node.id} to be ready` },
      ),
    ),
  );
  lb = await startHaproxy(dirs.root, nodes);
  await waitFor(
    async () => Object.values(await lb.states()).filter((s) => s === 'UP').length === 3,
    { timeoutMs: 15_000, what: 'HAProxy to see three nodes up' },
  );
}, 200_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const node of nodes) if (node.child.exitCode === null) node.child.kill('SIGKILL');
  await lb?.stop();
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
});

/** A viewer created through HAProxy, streaming. */
async function viewer() {
  const client = new WhepTestClient();
  clients.push(client);
  const response = await client.connect(`${lb.url}/whep/avatars/default`, auth);
  expect(response.status).toBe(201);
  // The session URL is HAProxy's: every later request goes through the load balancer.
  expect(client.location.startsWith(`${lb.url}/whep/sessions/`)).toBe(true);
  const id = client.location.split('/').at(-1)!;
  const owner = parseSessionId(id)?.node;
  expect(owner, `session id ${id} names its node`).toBeDefined();
  await client.waitForFrames(3, 30_000).catch((err: Error) => {
    // What the owner logged about this session says why (e.g. a handshake that timed out).
    const lines = nodes.find((n) => n.id === owner)?.lines() ?? [];
    const about = lines.filter((l) => JSON.stringify(l).includes(id)).slice(-10);
    throw new Error(`${err.message} for ${id} on ${owner}: ${JSON.stringify(about)}`);
  });
  return { client, id, owner: owner! };
}

async function loopsOf(client: WhepTestClient) {
  const markers = await decodeMarkers({
    input: Buffer.concat(client.frames.slice().map((f) => f.annexB)),
    size: SIZE,
    format: 'h264',
  });
  return markers.map((m) => m?.loop);
}

/** A counter of a node's /metrics (read directly from the node: an operator on its machine). */
async function metric(node: NodeProcess, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${label} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
const forwarded = async (result: string) => {
  let n = 0;
  for (const node of nodes) {
    if (node.child.exitCode === null) {
      n += await metric(node, 'avatar_cluster_forwards_total', `{result="${result}"}`);
    }
  }
  return n;
};

const speak = (location: string, speaking: boolean, headers: Record<string, string> = auth) =>
  fetch(`${location}/speaking`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ speaking }),
  });

const patchBody = (ufrag: string) =>
  `a=ice-ufrag:${ufrag}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:9 1 udp 1 127.0.0.1 9 typ host\r\n`;

describe('three nodes behind HAProxy', () => {
  it('compiled the default avatar once for the cluster: one node compiled, two loaded its file', async () => {
    const compiled = nodes.flatMap((n) => n.lines().filter((l) => l.msg === 'avatar compiled'));
    const loaded = nodes.flatMap((n) =>
      n.lines().filter((l) => l.msg === 'compiled avatar loaded from cache'),
    );
    expect(compiled).toHaveLength(1);
    expect(loaded).toHaveLength(2);
    const fromCache = await Promise.all(
      nodes.map(async (n) => {
        const status = (await (await fetch(`${n.url}/status`)).json()) as {
          avatars: Array<{ id: string; fromCache: boolean }>;
        };
        return status.avatars.find((a) => a.id === 'default')!.fromCache;
      }),
    );
    expect(fromCache.filter((f) => !f)).toHaveLength(1);
  });

  it('a clip pair dropped into the shared videos folder becomes an avatar on every node, compiled once', async () => {
    // Made aside, then moved in: as an operator copies a folder onto the shared volume.
    const aside = join(dirs.root, 'aside');
    mkdirSync(aside);
    await makeMarkerClip({
      path: join(aside, 'idle.mp4'),
      loop: LOOP.idle,
      frames: 30,
      size: SIZE,
    });
    await makeMarkerClip({
      path: join(aside, 'speaking.mp4'),
      loop: LOOP.speaking,
      frames: 20,
      size: SIZE,
    });
    renameSync(aside, join(dirs.videosDir, 'newcomer'));
    for (const node of nodes) {
      await waitFor(
        async () => {
          const list = (await (await fetch(`${node.url}/avatars`)).json()) as Array<{
            id: string;
            state: string;
          }>;
          return list.some((a) => a.id === 'newcomer' && a.state === 'ready');
        },
        { timeoutMs: 90_000, intervalMs: 250, what: `${node.id} to serve the new avatar` },
      );
    }
    const compiles = nodes.flatMap((n) =>
      n.lines().filter((l) => l.msg === 'avatar compiled' && l.avatar === 'newcomer'),
    );
    expect(compiles).toHaveLength(1);
  }, 120_000);

  it('sessions spread over the nodes; speaking, GET, trickle PATCH and DELETE reach the owner whichever node receives them', async () => {
    const viewers = [];
    for (let i = 0; i < 6; i++) viewers.push(await viewer());
    // Round-robin: the six sessions live on all three nodes.
    expect(new Set(viewers.map((v) => v.owner))).toEqual(new Set(['node-a', 'node-b', 'node-c']));
    const before = await forwarded('forwarded');

    for (const { client, id } of viewers) {
      // Three requests in a row through round-robin land on three different nodes.
      for (const speaking of [true, false, true]) {
        const answer = await speak(client.location, speaking);
        expect(answer.status).toBe(200);
        expect(await answer.json()).toMatchObject({
          speaking,
          loop: speaking ? 'speaking' : 'idle',
        });
      }
      await client.waitForFrames(client.frames.length + 5);
      expect(await loopsOf(client)).toContain(LOOP.speaking);
      const got = await fetch(client.location, { headers: auth });
      expect(got.status).toBe(200);
      expect(await got.json()).toMatchObject({ id, speaking: true });

      // The owner check runs on the owner, with the caller's credentials passed through.
      expect(
        (await speak(client.location, false, { Authorization: 'Bearer wrong-token' })).status,
      ).toBe(401);
      expect((await fetch(client.location)).status).toBe(401);

      // Trickle: the candidates reach the session's own peer (its ICE ufrag decides).
      const ufrag = /a=ice-ufrag:(\S+)/.exec(client.pc.localDescription!.sdp)![1]!;
      const patch = (body: string) =>
        fetch(client.location, {
          method: 'PATCH',
          headers: { ...auth, 'Content-Type': 'application/trickle-ice-sdpfrag' },
          body,
        });
      expect((await patch(patchBody(ufrag))).status).toBe(204);
      const restart = await patch(patchBody('another-ufrag'));
      expect(restart.status).toBe(422);
      expect(((await restart.json()) as { detail: string }).detail).toMatch(/ICE restart/);
    }
    // Most of those requests reached a node that does not hold the session, and were forwarded.
    expect((await forwarded('forwarded')) - before).toBeGreaterThanOrEqual(viewers.length * 3);

    // DELETE through HAProxy ends the session on its owner, and only that one.
    const [gone, ...rest] = viewers;
    expect((await fetch(gone!.client.location, { method: 'DELETE', headers: auth })).status).toBe(
      200,
    );
    for (let i = 0; i < 3; i++) {
      expect((await fetch(gone!.client.location, { headers: auth })).status).toBe(404);
    }
    for (const { client } of rest) await client.waitForFrames(client.frames.length + 10);
  }, 120_000);

  it('a streamed (chunked) body and the original API reach the owner through any node', async () => {
    const { client } = await viewer();
    const ufrag = /a=ice-ufrag:(\S+)/.exec(client.pc.localDescription!.sdp)![1]!;
    // A body sent in pieces, without a length: forwarded as it comes.
    const bytes = Buffer.from(patchBody(ufrag));
    const pieces = [bytes.subarray(0, 30), bytes.subarray(30)];
    for (let i = 0; i < 3; i++) {
      const streamed = await fetch(client.location, {
        method: 'PATCH',
        headers: { ...auth, 'Content-Type': 'application/trickle-ice-sdpfrag' },
        body: new ReadableStream({
          start(controller) {
            for (const piece of pieces) controller.enqueue(new Uint8Array(piece));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(204);
    }

    // POST /streams, then the answer at urls.answer with the session_token: both go through
    // HAProxy, so the answer lands on another node than the one that made the offer.
    const response = await fetch(`${lb.url}/streams`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"video_id": "default"}',
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as StreamCreated & { session_token: string };
    expect(created.urls.answer.startsWith(`${lb.url}/streams/`)).toBe(true);
    const streams = new StreamsTestClient();
    try {
      const sdp = await streams.answer(created.offer.sdp);
      const answer = (token: string) =>
        fetch(created.urls.answer, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ type: 'answer', sdp }),
        });
      expect((await answer('not-the-session-token')).status).toBe(401);
      expect((await answer(created.session_token)).status).toBe(200);
      await streams.waitForFrames(5);
      const speaking = await speak(created.urls.session, true, {
        Authorization: `Bearer ${created.session_token}`,
      });
      expect(speaking.status).toBe(200);
      expect((await fetch(created.urls.session, { method: 'DELETE', headers: auth })).status).toBe(
        200,
      );
    } finally {
      await streams.close();
    }
  }, 60_000);

  it('a forged id naming an unknown node is a 404 without any connection; one naming a known node is asked there', async () => {
    const random = randomBytes(16).toString('base64url');
    const before = {
      forwarded: await forwarded('forwarded'),
      failed: await forwarded('failed'),
      unknown: await forwarded('unknown_node'),
    };
    for (const method of ['GET', 'DELETE', 'PATCH']) {
      for (const node of ['ghost', '10-0-0-1', 'localhost']) {
        const answer = await fetch(`${lb.url}/whep/sessions/${node}.w0-${random}`, {
          method,
          headers: { ...auth, 'Content-Type': 'application/trickle-ice-sdpfrag' },
          ...(method === 'PATCH' ? { body: patchBody('x') } : {}),
        });
        expect(answer.status).toBe(404);
        expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    }
    // Nine requests for an unknown node, none forwarded: no node opened a connection for them.
    expect(await forwarded('unknown_node')).toBe(before.unknown + 9);
    expect(await forwarded('forwarded')).toBe(before.forwarded);
    expect(await forwarded('failed')).toBe(before.failed);

    // A well-formed id of a known node that never made it: the owner says 404.
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${lb.url}/whep/sessions/node-b.w0-${random}/speaking`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: '{"speaking":true}',
      });
      expect(answer.status).toBe(404);
    }
    // A client cannot pose as a node: a made-up signature is not forwarded on, nor believed.
    const posing = await fetch(`${lb.url}/whep/sessions/node-c.w0-${random}`, {
      headers: {
        ...auth,
        'X-Avatar-Cluster-Node': 'node-a',
        'X-Avatar-Cluster-Time': String(Date.now()),
        'X-Avatar-Cluster-Signature': 'forged',
      },
    });
    expect(posing.status).toBe(404);
    // The identity endpoint answers nodes only.
    expect((await fetch(`${lb.url}/cluster/identity`)).status).toBe(404);
  }, 60_000);

  it('SIGTERM drains one node: /ready 503, HAProxy takes it out, its sessions stream until the drain ends, the others are untouched, new sessions succeed', async () => {
    const viewers = [];
    for (let i = 0; i < 6; i++) viewers.push(await viewer());
    const doomed = nodes.find((n) => n.id === 'node-c')!;
    const draining = viewers.filter((v) => v.owner === doomed.id);
    const staying = viewers.filter((v) => v.owner !== doomed.id);
    expect(draining.length).toBeGreaterThan(0);

    const termAt = performance.now();
    doomed.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${doomed.url}/ready`)).status === 503, {
      what: 'the draining node’s /ready to answer 503',
    });
    await waitFor(async () => (await lb.states())[doomed.id]?.startsWith('DOWN'), {
      what: 'HAProxy to take the draining node out',
    });

    // New sessions keep succeeding, on the other nodes only.
    const fresh = [];
    for (let i = 0; i < 3; i++) fresh.push(await viewer());
    expect(fresh.every((v) => v.owner !== doomed.id)).toBe(true);

    // The draining node's sessions still stream and still obey, through any node.
    for (const { client } of draining) {
      await client.waitForFrames(client.frames.length + 10);
      expect((await speak(client.location, true)).status).toBe(200);
    }

    // Until the drain ends: frames keep arriving to within a moment of the node's exit.
    const lastFrame = new Map<WhepTestClient, number>();
    const counts = new Map(draining.map((v) => [v.client, v.client.frames.length]));
    while (doomed.exitedAt === undefined) {
      for (const { client } of draining) {
        if (client.frames.length > counts.get(client)!) {
          counts.set(client, client.frames.length);
          lastFrame.set(client, performance.now());
        }
      }
      await new Promise((ok) => setTimeout(ok, 50));
      expect(performance.now() - termAt).toBeLessThan((DRAIN_S + 20) * 1000);
    }
    expect(await doomed.exited).toBe(0);
    const exitedAt = doomed.exitedAt!;
    expect(exitedAt - termAt).toBeGreaterThan((DRAIN_S - 1) * 1000);
    for (const { client } of draining) {
      expect(exitedAt - lastFrame.get(client)!).toBeLessThan(2500);
    }

    // Its sessions are gone (404 from whichever node is asked); the other nodes' are untouched.
    for (const { client } of draining) {
      expect((await fetch(client.location, { headers: auth })).status).toBe(404);
    }
    for (const { client, id } of [...staying, ...fresh]) {
      await client.waitForFrames(client.frames.length + 10);
      const got = await fetch(client.location, { headers: auth });
      expect(got.status).toBe(200);
      expect(((await got.json()) as { id: string }).id).toBe(id);
    }
  }, 120_000);
});
