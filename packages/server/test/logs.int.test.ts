import { WhepTestClient } from '@avatar-server/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * What the server logs, read from its real logger: at debug, what the media path decided for a
 * session (webrtc/, session/), each line naming the module and the session, so a user can see
 * why a session ended; and never a token, whatever the level.
 */

type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A debug-level pino logger whose lines (and raw text) the test reads. */
function capturingLogger() {
  const lines: LogLine[] = [];
  let text = '';
  const logger = pino(
    { level: 'debug', base: undefined },
    {
      write: (s: string) => {
        text += s;
        lines.push(JSON.parse(s));
      },
    },
  );
  return { logger, lines, text: () => text };
}

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
  let server: TestServer;
  let lines: LogLine[];
  beforeAll(async () => {
    const capture = capturingLogger();
    lines = capture.lines;
    server = await startTestServer({ receiverSilenceTimeoutMs: 2000 }, { logger: capture.logger });
  });
  afterAll(async () => {
    await server?.stop();
  });

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

describe('tokens in logs', () => {
  const TOKEN = 'static-token-never-logged-0001';
  const SECRET = 'signing-secret-never-logged-0123456789';
  let server: TestServer;
  let capture: ReturnType<typeof capturingLogger>;
  beforeAll(async () => {
    capture = capturingLogger();
    server = await startTestServer(
      { tokens: [TOKEN], tokenSecret: SECRET },
      { logger: capture.logger },
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('neither a valid nor a wrong Bearer token, nor the configured secret, reaches the log', async () => {
    const post = (token: string) =>
      fetch(`${server.url}/whep/avatars/default`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
        body: 'v=0\r\n',
      });
    expect((await post(TOKEN)).status).toBe(400); // past the token check, then a bad offer
    expect((await post('wrong-token-never-logged-02')).status).toBe(401);
    const requests = await until('both requests to be logged', () => {
      const found = capture.lines.filter((l) =>
        (l.req as { url?: string })?.url?.startsWith('/whep'),
      );
      return found.length >= 2 ? found : undefined;
    });
    expect(requests.map((l) => (l.res as { statusCode: number }).statusCode).sort()).toEqual([
      400, 401,
    ]);
    expect(capture.text()).not.toMatch(/never-logged/);
  });
});
