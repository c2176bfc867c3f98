import {
  decodeMarkers,
  LOOP,
  type Marker,
  type ReceivedFrame,
  WhepTestClient,
} from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IDLE_FRAMES,
  SPEAKING_FRAMES,
  startTestServer,
  TEST_SIZE,
  type TestServer,
} from './support/testServer.js';

let server: TestServer;
let endpoint: string;

beforeAll(async () => {
  server = await startTestServer();
  endpoint = `${server.url}/whep/avatars/default`;
});
afterAll(async () => {
  await server?.stop();
});

/** Decodes received pictures (the first must be a keyframe) and reads each one's marker. */
async function markersOf(received: readonly ReceivedFrame[]): Promise<Marker[]> {
  const frames = received.slice(); // the client keeps receiving while ffmpeg decodes
  const markers = await decodeMarkers({
    input: Buffer.concat(frames.map((f) => f.annexB)),
    size: TEST_SIZE,
    format: 'h264',
  });
  expect(markers).toHaveLength(frames.length);
  return markers.map((m, i) => {
    if (!m) throw new Error(`picture ${i} has no readable marker`);
    return m;
  });
}

const length = (loop: number) => (loop === LOOP.idle ? IDLE_FRAMES : SPEAKING_FRAMES);

/** Every marker follows the previous one in its loop (wrapping at the loop's end). */
function expectInOrder(markers: readonly Marker[]) {
  for (let i = 1; i < markers.length; i++) {
    const prev = markers[i - 1]!;
    const cur = markers[i]!;
    expect(cur.loop, `picture ${i}`).toBe(prev.loop);
    expect(cur.frame, `picture ${i}`).toBe((prev.frame + 1) % length(prev.loop));
  }
}

/**
 * RTP timestamps advance by one frame (3600 at 90 kHz, 25 fps) per picture. The one exception is
 * by design: after a stall (a loaded machine) the server's clock skips the missed ticks rather
 * than send stale frames in a burst, and the timestamps skip with them. So every step is whole
 * frames, and the frames skipped are no more than the ticks the clock skipped meanwhile.
 */
function expectCadence(frames: readonly ReceivedFrame[], skippedTicks: number) {
  let skipped = 0;
  for (let i = 1; i < frames.length; i++) {
    const step = (frames[i]!.timestamp - frames[i - 1]!.timestamp) >>> 0;
    expect(step > 0 && step % 3600 === 0, `RTP timestamp step ${step} at picture ${i}`).toBe(true);
    skipped += step / 3600 - 1;
  }
  expect(
    skipped,
    'frames skipped (at most the ticks the server clock skipped)',
  ).toBeLessThanOrEqual(skippedTicks);
}

/** Ticks the server's frame clocks (one per media worker) have skipped so far. */
const skippedTicks = async () =>
  (await server.media.snapshot()).reduce((n, w) => n + w.skippedTicks, 0);

async function connectedClient(opts: { audio?: boolean } = {}) {
  const client = new WhepTestClient(opts);
  const response = await client.connect(endpoint);
  expect(response.status).toBe(201);
  return client;
}

describe('WHEP session', () => {
  it('answers an offer with 201, an absolute Location, an ETag and a WHEP-conformant answer', async () => {
    const client = await connectedClient();
    try {
      expect(client.location).toMatch(new RegExp(`^${server.url}/whep/sessions/[\\w-]{16,}$`));
      expect(client.etag).toMatch(/^"[^"]+"$/);
      expect(client.answer).toContain('a=rtcp-mux-only');
      expect(client.answer).toMatch(/a=msid:\S+ \S+/);
      expect(client.answer).toContain('a=sendonly');
      expect(client.answer).toMatch(/a=fmtp:\d+ .*profile-level-id=42e01f/);
      expect(client.answer).toContain('a=end-of-candidates');
    } finally {
      await client.close();
    }
  });

  it('streams the idle loop from a keyframe, every frame in order, with playout-delay 0', async () => {
    const skippedBefore = await skippedTicks();
    const client = await connectedClient();
    try {
      await client.waitForFrames(60);
      const frames = client.frames.slice(0, 60);
      expect(frames[0]!.keyframe, 'the first picture is a keyframe').toBe(true);
      const markers = await markersOf(frames);
      expect(
        markers.filter((m) => m.loop !== LOOP.idle),
        'pictures not from the idle loop',
      ).toEqual([]);
      expectInOrder(markers); // 60 frames > 50: wraps around the loop's end
      expectCadence(frames, (await skippedTicks()) - skippedBefore);
      const playoutDelay = frames[0]!.extensions.find((e) =>
        e.payload.equals(Buffer.from([0, 0, 0])),
      );
      expect(playoutDelay, 'a playout-delay extension with min = max = 0').toBeDefined();
    } finally {
      await client.close();
    }
  });

  it('switches to speaking and back over the data channel, each as the next frame', async () => {
    const skippedBefore = await skippedTicks();
    const client = await connectedClient();
    try {
      await client.waitForControlChannel();
      await client.waitForFrames(12);
      expect(client.hello).toMatchObject({ type: 'hello', avatar: 'default', speaking: false });
      expect(client.location).toContain(client.hello!.session as string);
      const on = await client.request({ type: 'speaking', speaking: true, id: 1 });
      expect(on).toMatchObject({ type: 'speaking', id: 1, speaking: true, loop: 'speaking' });
      expect(on.latencyMs as number).toBeLessThan(40);
      await client.waitForFrames(client.frames.length + 15);
      const off = await client.request({ type: 'speaking', speaking: false });
      expect(off).toMatchObject({ type: 'speaking', speaking: false, loop: 'idle' });
      await client.waitForFrames(client.frames.length + 10);

      const frames = client.frames.slice();
      const markers = await markersOf(frames);
      const toSpeaking = markers.findIndex((m) => m.loop === LOOP.speaking);
      const toIdle = markers.findIndex((m, i) => i > toSpeaking && m.loop === LOOP.idle);
      expect(toSpeaking).toBeGreaterThan(0);
      expect(toIdle).toBeGreaterThan(toSpeaking);
      // The first picture of each loop is a keyframe, and it is the frame the server reported.
      expect(frames[toSpeaking]!.keyframe, 'the first speaking picture is a keyframe').toBe(true);
      expect(markers[toSpeaking]!.frame).toBe(on.frame);
      expect(frames[toIdle]!.keyframe, 'the first idle picture after speaking is a keyframe').toBe(
        true,
      );
      expect(markers[toIdle]!.frame).toBe(off.frame);
      // The cut is the one the analysis chose for the idle frame on screen.
      const state = server.catalog.get('default');
      if (state?.state !== 'ready') throw new Error('avatar not ready');
      expect(on.frame).toBe(state.avatar.cuts.idle[markers[toSpeaking - 1]!.frame]);
      expect(off.frame).toBe(state.avatar.cuts.speaking[markers[toIdle - 1]!.frame]);
      expectInOrder(markers.slice(0, toSpeaking));
      expectInOrder(markers.slice(toSpeaking, toIdle));
      expectInOrder(markers.slice(toIdle));
      // The cadence is kept: one RTP frame interval between every two pictures, switch included.
      expectCadence(frames, (await skippedTicks()) - skippedBefore);
    } finally {
      await client.close();
    }
  });

  it('switches over HTTP on the session URL and reports when the change took effect', async () => {
    const client = await connectedClient();
    try {
      await client.waitForFrames(5);
      const response = await fetch(`${client.location}/speaking`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ speaking: true }),
      });
      expect(response.status).toBe(200);
      const change = (await response.json()) as Record<string, number | string | boolean>;
      expect(change).toMatchObject({ speaking: true, loop: 'speaking' });
      expect(typeof change.tick).toBe('number');
      expect(typeof change.sentAt).toBe('number');
      await client.waitForFrames(client.frames.length + 8);
      const back = await fetch(`${client.location}/speaking`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ speaking: false }),
      });
      const backChange = (await back.json()) as Record<string, unknown>;
      await client.waitForFrames(client.frames.length + 8);

      const frames = client.frames.slice();
      const markers = await markersOf(frames);
      const toSpeaking = markers.findIndex((m) => m.loop === LOOP.speaking);
      const toIdle = markers.findIndex((m, i) => i > toSpeaking && m.loop === LOOP.idle);
      expect(frames[toSpeaking]!.keyframe, 'the first speaking picture is a keyframe').toBe(true);
      expect(markers[toSpeaking]!.frame).toBe(change.frame);
      expect(frames[toIdle]!.keyframe, 'the first idle picture after speaking is a keyframe').toBe(
        true,
      );
      expect(markers[toIdle]!.frame).toBe(backChange.frame);
      expectInOrder(markers.slice(toSpeaking, toIdle));
      expectInOrder(markers.slice(toIdle));
    } finally {
      await client.close();
    }
  });

  it('answers a PLI with the keyframe version of the current frame within one tick', async () => {
    const client = await connectedClient();
    try {
      await client.waitForFrames(13); // frame 12: inside a GOP of 10, so not a main keyframe
      const before = client.frames.length;
      await client.sendPli();
      await client.waitForFrames(before + 4);
      const after = client.frames.slice(before, before + 3);
      expect(
        after.some((f) => f.keyframe),
        'a keyframe among the 3 pictures after the PLI',
      ).toBe(true);
      const markers = await markersOf(client.frames.slice(0, before + 4));
      expectInOrder(markers); // the keyframe continues the picture sequence: no jump
      const stats = (await (await fetch(client.location)).json()) as {
        stats: { keyframeRequests: number };
      };
      expect(stats.stats.keyframeRequests).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });

  it('accepts an offer with an audio section (answered with an Opus track) and still streams video', async () => {
    const client = await connectedClient({ audio: true });
    try {
      expect(client.answer).toMatch(/m=audio [1-9]\d* /);
      await client.waitForFrames(5);
    } finally {
      await client.close();
    }
  });

  it('ends the session on DELETE and frees it', async () => {
    const client = await connectedClient();
    try {
      await client.waitForFrames(3);
      const sessionsBefore = server.media.size;
      const response = await fetch(client.location, { method: 'DELETE' });
      expect(response.status).toBe(200);
      expect(server.media.size).toBe(sessionsBefore - 1);
      const received = client.frames.length;
      // Not a synchronisation: an observation window (7 frame periods) in which nothing may arrive
      // but the picture already in flight.
      await new Promise((r) => setTimeout(r, 300));
      expect(client.frames.length - received, 'pictures received after DELETE').toBeLessThanOrEqual(
        1,
      );
      expect((await fetch(client.location, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await client.close();
    }
  });
});
