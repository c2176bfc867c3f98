import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/testServer.js';
import { WhepTestClient } from './support/whepTestClient.js';

/**
 * `--log-level debug` shows what the media path decided for a session (webrtc/, session/), each line
 * naming the module and the session, so a user can see why a session ended.
 */

type LogLine = Record<string, unknown> & { msg: string; level: number };

let server: TestServer;
const lines: LogLine[] = [];
beforeAll(async () => {
  const logger = pino(
    { level: 'debug', base: undefined },
    { write: (s: string) => lines.push(JSON.parse(s)) },
  );
  server = await startTestServer({ receiverSilenceTimeoutMs: 2000 }, { logger });
});
afterAll(async () => {
  await server?.stop();
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('media path logs at debug', () => {
  it('a session from connection to a vanished viewer: ICE, DTLS, first frame, switch, keyframe request, and the reason it ended', async () => {
    const client = new WhepTestClient();
    expect((await client.connect(`${server.url}/whep/avatars/default`)).status).toBe(201);
    const session = client.location.split('/').pop()!;
    await client.waitForFrames(5);
    const speaking = await fetch(`${client.location}/speaking`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ speaking: true }),
    });
    expect(speaking.status).toBe(200);
    await client.sendPli();
    await until('the keyframe request to be logged', () =>
      lines.find((l) => l.session === session && l.msg === 'keyframe requested (PLI)'),
    );
    // The viewer vanishes without a DELETE (a closed tab).
    await client.close();
    const closed = await until('the session to end', () =>
      lines.find(
        (l) => l.module === 'session' && l.session === session && l.msg === 'session closed',
      ),
    );
    expect(closed).toMatchObject({ level: 20, avatar: 'default', reason: expect.any(String) });
    expect(closed.framesSent).toBeGreaterThanOrEqual(5);

    const of = (module: string) =>
      lines.filter((l) => l.module === module && l.session === session);
    expect(of('webrtc')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'ICE state', state: 'connected' }),
        expect.objectContaining({ msg: 'DTLS state', state: 'connected' }),
        expect.objectContaining({ msg: 'keyframe requested (PLI)' }),
      ]),
    );
    expect(of('session')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'first frame', loop: 'idle' }),
        expect.objectContaining({ msg: 'switched', from: 'idle', to: 'speaking' }),
      ]),
    );
    // Every media-path line is at debug: none of this is written at the default level (info).
    expect(lines.filter((l) => l.module !== undefined && l.level !== 20)).toEqual([]);
  });
});
