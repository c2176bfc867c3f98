import { copyFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeMarkers,
  LOOP,
  type Marker,
  type ReceivedFrame,
  type StreamCreated,
  StreamsTestClient,
} from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../src/observe/status.js';
import type { SpeakingChange } from '../src/session/Session.js';
import { IDLE_FRAMES, startTestServer, TEST_SIZE, type TestServer } from './support/testServer.js';

/**
 * The original system's API (`POST /streams`, server-made offer) against the real server, with a
 * real werift peer answering and receiving pictures whose markers say which loop and frame they are.
 */

/** A trivial frame processor: drops the colour (the markers are in the luma plane). */
const GREY_PROCESSOR =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell command; sh expands the variables
  '"$AVATAR_FFMPEG" -v error -f rawvideo -pix_fmt yuv420p -s ${AVATAR_FRAME_SIZE}x${AVATAR_FRAME_SIZE} -i - -vf lutyuv=u=128:v=128 -f rawvideo -';

let server: TestServer;
let clipsDir: string;
let outsideFile: string;

beforeAll(async () => {
  server = await startTestServer({
    frameProcessor: GREY_PROCESSOR,
    handshakeTimeoutMs: 5000,
    clipRequests: true,
  });
  clipsDir = join(server.dirs.videosDir, 'default');
  // A pair added after the start (the server did not find it then).
  copyFileSync(join(clipsDir, 'idle.mp4'), join(server.dirs.videosDir, 'late_reposo.mp4'));
  copyFileSync(join(clipsDir, 'speaking.mp4'), join(server.dirs.videosDir, 'late_gestos.mp4'));
  // A file outside the videos folder, and a link to it from inside.
  outsideFile = join(server.dirs.root, 'secret.mp4');
  writeFileSync(outsideFile, 'not for you');
  symlinkSync(outsideFile, join(server.dirs.videosDir, 'link_gestos.mp4'));
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

async function markersOf(received: readonly ReceivedFrame[]): Promise<Marker[]> {
  const frames = received.slice();
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

/** Opens a stream, checks it plays the idle loop from a keyframe, in order; returns it open. */
async function expectIdleStream(body: unknown) {
  const { client, created } = await StreamsTestClient.open(server.url, body);
  await client.waitForFrames(15);
  expect(client.frames[0]!.keyframe, 'the first picture is a keyframe').toBe(true);
  const markers = await markersOf(client.frames.slice(0, 15));
  expect(
    markers.filter((m) => m.loop !== LOOP.idle),
    'pictures not from the idle loop',
  ).toEqual([]);
  for (let i = 1; i < markers.length; i++) {
    expect(markers[i]!.frame).toBe((markers[i - 1]!.frame + 1) % IDLE_FRAMES);
  }
  return { client, created };
}

async function end(client: StreamsTestClient, created: StreamCreated) {
  expect((await fetch(created.urls.session, { method: 'DELETE' })).status).toBe(200);
  await client.close();
}

const postStreams = (body: string, type = 'application/json') =>
  fetch(`${server.url}/streams`, { method: 'POST', headers: { 'Content-Type': type }, body });

describe('POST /streams (the original API)', () => {
  it('{"video_id": "jesus_default"}: 201 with id, session_id, a server offer and the next URLs', async () => {
    const { client, created } = await expectIdleStream({ video_id: 'jesus_default' });
    try {
      expect(created.id).toMatch(/^[\w.-]{16,}$/);
      expect(created.session_id).toBe(created.id);
      expect(created.avatar).toBe('default');
      expect(created.offer.type).toBe('offer');
      expect(created.offer.sdp).toContain('a=sendonly');
      expect(created.offer.sdp).toMatch(/a=fmtp:\d+ profile-level-id=42e01f;packetization-mode=1/);
      expect(created.offer.sdp).toContain('m=application');
      // The answer URL carries its own secret, besides the session id.
      const answerKey = created.urls.answer.split('/').pop()!;
      expect(answerKey).toMatch(/^[\w-]{22,}$/);
      expect(answerKey).not.toBe(created.id);
      expect(created.urls).toEqual({
        answer: `${server.url}/streams/${created.id}/answer/${answerKey}`,
        speaking: `${server.url}/whep/sessions/${created.id}/speaking`,
        session: `${server.url}/whep/sessions/${created.id}`,
      });

      // The same registry and state machine as WHEP: the session URL answers, and speaking works.
      const state = await (await fetch(created.urls.session)).json();
      expect(state).toMatchObject({ id: created.id, avatar: 'default', speaking: false });
      const on = (await (
        await fetch(created.urls.speaking, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"speaking": true}',
        })
      ).json()) as SpeakingChange;
      expect(on).toMatchObject({ speaking: true, loop: 'speaking' });
      const before = client.frames.length;
      await client.waitForFrames(before + 10);
      const markers = await markersOf(client.frames);
      const first = markers.findIndex((m) => m.loop === LOOP.speaking);
      expect(first).toBeGreaterThan(0);
      expect(client.frames[first]!.keyframe, 'the first speaking picture is a keyframe').toBe(true);
      expect(markers[first]!.frame).toBe(on.frame);

      // The server-opened data channel greets and controls the same session.
      await client.waitFor(() => client.hello !== undefined, 'the hello message');
      expect(client.hello).toMatchObject({ type: 'hello', session: created.id });
      const off = await client.request({ type: 'speaking', speaking: false, id: 3 });
      expect(off).toMatchObject({ type: 'speaking', id: 3, speaking: false, loop: 'idle' });
    } finally {
      await end(client, created);
    }
    expect(await server.media.session('get', { session: created.id })).toBeNull();
  });

  it.each([
    ['{"video_id": "default"}', { video_id: 'default' }],
    [
      '{"portrait_id": "jesus_default"} (the Node backend’s field)',
      { portrait_id: 'jesus_default' },
    ],
    ['an empty body (the default avatar)', {}],
  ])('%s streams the default avatar', async (_name, body) => {
    const { client, created } = await expectIdleStream(body);
    expect(created.avatar).toBe('default');
    await end(client, created);
  });

  it('{"gesture_video", "idle_video", "use_ai": false} with the clips of a known avatar uses it', async () => {
    const { client, created } = await expectIdleStream({
      gesture_video: join(clipsDir, 'speaking.mp4'),
      idle_video: join(clipsDir, 'idle.mp4'),
      use_ai: false,
    });
    expect(created.avatar).toBe('default');
    await end(client, created);
  });

  it('compiles a pair added after the start on first use, then reuses it (relative paths are in the videos folder)', async () => {
    const body = { gesture_video: 'late_gestos.mp4', idle_video: 'late_reposo.mp4' };
    const { client, created } = await expectIdleStream(body);
    expect(created.avatar).toBe('late');
    await end(client, created);
    const status = (await (await fetch(`${server.url}/status`)).json()) as Status;
    expect(status.avatars).toContainEqual(
      expect.objectContaining({ id: created.avatar, state: 'ready' }),
    );
    const again = await postStreams(JSON.stringify(body));
    expect(again.status).toBe(201);
    const second = (await again.json()) as StreamCreated;
    expect(second.avatar).toBe(created.avatar);
    await fetch(second.urls.session, { method: 'DELETE' });
  });

  it('use_ai: true runs the configured frame processor at compile time and streams the result', async () => {
    const { client, created } = await expectIdleStream({ video_id: 'jesus_default', use_ai: true });
    expect(created.avatar).toBe('default+processed');
    await end(client, created);
  });
});

describe('POST /streams refusals are problem+json naming the field', () => {
  const expectProblem = async (response: Response, status: number, detail: RegExp) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await response.json()) as { detail: string };
    expect(body.detail).toMatch(detail);
  };

  it.each([
    [
      'a path outside the videos folder',
      { gesture_video: '/etc/hostname', idle_video: 'default/idle.mp4' },
      403,
      /gesture_video: '\/etc\/hostname' is outside the videos folder; name a clip inside it/,
    ],
    [
      'a link inside the folder that points outside',
      { gesture_video: 'link_gestos.mp4', idle_video: 'default/idle.mp4' },
      404,
      /gesture_video: no clip 'link_gestos\.mp4' in the videos folder \(a link there must point to a file inside it\)/,
    ],
    [
      'a ../ escape',
      { gesture_video: '../secret.mp4', idle_video: 'default/idle.mp4' },
      403,
      /outside the videos folder/,
    ],
    [
      'a missing clip',
      { gesture_video: 'nope_gestos.mp4', idle_video: 'default/idle.mp4' },
      404,
      /gesture_video: no clip 'nope_gestos\.mp4' in the videos folder/,
    ],
    ['half a pair', { gesture_video: 'default/speaking.mp4' }, 400, /go together/],
    [
      'a video_id and paths',
      { video_id: 'x', gesture_video: 'a', idle_video: 'b' },
      400,
      /either video_id or/,
    ],
    [
      'an unknown video_id',
      { video_id: 'maria' },
      404,
      /no avatar 'maria' \(known avatars: default/,
    ],
    ['a wrong type', { video_id: 5 }, 400, /'video_id'/],
    ['use_ai that is not a boolean', { use_ai: 'yes' }, 400, /'use_ai'/],
  ])('%s', async (_name, body, status, detail) => {
    await expectProblem(await postStreams(JSON.stringify(body)), status, detail);
  });

  it('400 for a body that is not JSON', async () => {
    await expectProblem(await postStreams('{video_id'), 400, /not valid JSON/);
  });

  it('answers: 404 for an unknown stream, 400 for an unusable answer, 409 for a second one', async () => {
    const answerAt = (url: string, body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    await expectProblem(
      await answerAt(`${server.url}/streams/nope/answer`, { sdp: 'v=0' }),
      404,
      /no session 'nope'/,
    );
    const created = (await (await postStreams('{}')).json()) as StreamCreated;
    await expectProblem(await answerAt(created.urls.answer, { type: 'answer' }), 400, /"sdp"/);
    await expectProblem(await answerAt(created.urls.answer, { sdp: 'hello' }), 400, /not SDP/);
    const client = new StreamsTestClient();
    const sdp = await client.answer(created.offer.sdp);
    expect((await answerAt(created.urls.answer, { type: 'answer', sdp })).status).toBe(200);
    await expectProblem(await answerAt(created.urls.answer, { sdp }), 409, /already has an answer/);
    await end(client, created);
  });
});
