import { WhepTestClient } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../src/observe/status.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/** /health, /status and /metrics against the real server, while sessions come and go. */

let server: TestServer;
/** Before the server started: its uptime can be no longer than the time since. */
let startedBefore: number;
beforeAll(async () => {
  startedBefore = Date.now();
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** /health's fields are a subset of /status's, so one type serves both here. */
const getJson = async (path: string) =>
  (await (await fetch(`${server.url}${path}`)).json()) as Status;

/** One sample's value from the Prometheus text format (labels as written, e.g. `{loop="speaking"}`). */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

async function connected() {
  const client = new WhepTestClient();
  expect((await client.connect(`${server.url}/whep/avatars/default`)).status).toBe(201);
  await client.waitForFrames(5);
  return client;
}

describe('health, status and metrics', () => {
  it('/health: status, version, uptime', async () => {
    const health = await getJson('/health');
    expect(health).toMatchObject({ status: 'ok', sessions: 0 });
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    const sinceStart = (Date.now() - startedBefore) / 1000;
    expect(
      health.uptimeSeconds,
      `whole seconds since the server started (≤ ${sinceStart} s)`,
    ).toSatisfy((s: number) => Number.isInteger(s) && s >= 0 && s <= Math.round(sinceStart));
  });

  it('/status: avatars and compile state, encoder, NVENC, memory', async () => {
    const status = await getJson('/status');
    expect(status.avatars).toEqual([
      expect.objectContaining({
        id: 'default',
        state: 'ready',
        frames: { idle: 50, speaking: 40 },
      }),
    ]);
    expect(status.encoder).toMatchObject({
      kind: expect.any(String),
      nvencAvailable: expect.any(Boolean),
    });
    expect(status.memory.rssMb).toBeGreaterThan(10);
    expect(status.memory.compiledAvatarsMb).toBeGreaterThan(0);
  });

  it('figures move as sessions come, switch and go', async () => {
    const before = await getJson('/status');
    const framesBefore = await metric('avatar_frames_sent_total');
    const a = await connected();
    const b = await connected();
    try {
      expect(await metric('avatar_sessions')).toBe(2);
      const during = await getJson('/status');
      expect(during.sessions.active).toBe(2);
      expect(during.sessions.created).toBe(before.sessions.created + 2);
      expect(during.sessions.list.map((s: { id: string }) => s.id).sort()).toEqual(
        [a.location, b.location].map((l) => l.split('/').pop()).sort(),
      );
      expect(during.frames.sent).toBeGreaterThanOrEqual(before.frames.sent + 10);
      expect(await metric('avatar_frames_sent_total')).toBeGreaterThan(framesBefore);
      expect(await metric('avatar_bytes_sent_total')).toBeGreaterThan(0);

      const switched = await fetch(`${a.location}/speaking`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"speaking":true}',
      });
      expect(switched.status).toBe(200);
      expect(await metric('avatar_switches_total{loop="speaking"}')).toBe(1);
      expect(await metric('avatar_switch_latency_seconds_count')).toBe(1);
      // The bitrate is sampled once a second over a few seconds: it shows once two samples exist.
      await expect
        .poll(async () => (await getJson('/status')).bitrateKbps, {
          timeout: 10_000,
          message: '/status bitrateKbps while two sessions stream',
        })
        .toBeGreaterThan(10);

      await fetch(a.location, { method: 'DELETE' });
      expect(await metric('avatar_sessions')).toBe(1);
      expect(await metric('avatar_sessions_ended_total')).toBeGreaterThanOrEqual(1);
      expect((await getJson('/status')).sessions.active).toBe(1);
      expect((await getJson('/health')).sessions).toBe(1);
    } finally {
      await a.close();
      await b.close();
      await fetch(b.location, { method: 'DELETE' });
    }
    expect(await metric('avatar_sessions')).toBe(0);
    expect(await metric('avatar_sessions_created_total')).toBeGreaterThanOrEqual(2);
  });

  it('/metrics: Prometheus text with process metrics, compile durations and avatar states', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^avatar_compile_duration_seconds_count\{source="(compile|cache)"\} 1$/m);
    expect(text).toMatch(/^avatar_avatars\{state="ready"\} 1$/m);
    expect(text).toMatch(/^# TYPE avatar_switch_latency_seconds histogram$/m);
  });

  it('gives each HTTP request an id (kept from X-Request-Id when sent)', async () => {
    const fresh = await fetch(`${server.url}/health`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await fetch(`${server.url}/health`, { headers: { 'X-Request-Id': 'lb-42' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-42');
  });
});
