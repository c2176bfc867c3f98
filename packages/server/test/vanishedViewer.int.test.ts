import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/testServer.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(); // the default receiverSilenceTimeoutMs (6 s)
});
afterAll(async () => {
  await server?.stop();
});

const VIEWER = fileURLToPath(new URL('./support/vanishingViewer.ts', import.meta.url));

/** Starts a viewer process; resolves with it and its session URL once it receives frames. */
function startViewer(endpoint: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', VIEWER, endpoint], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const located = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line!) as { location: string }).location);
    });
    child.once('exit', (code) => reject(new Error(`viewer exited (${code}) before streaming`)));
  });
  return { child, located };
}

/** The server's UDP sockets (one ICE port per peer), from its media workers' resource lists. */
const resources = async () => {
  const workers = await server.media.snapshot();
  return { udp: workers.reduce((n, w) => n + w.udpSockets, 0) };
};

describe('a viewer that vanishes without DELETE', () => {
  it('is ended within the RTCP silence timeout, and its port is freed', async () => {
    const before = await resources();
    const { child, located } = startViewer(`${server.url}/whep/avatars/default`);
    const location = await located;
    expect((await fetch(location)).status).toBe(200);
    expect((await resources()).udp).toBeGreaterThan(before.udp);

    const killedAt = performance.now();
    child.kill('SIGKILL');
    // Poll (bounded: 30 s, the limit) until the session is gone.
    const status = await waitFor(
      async () => {
        const s = (await fetch(location)).status;
        return s !== 200 && s;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the session to end' },
    );
    const endedAfterMs = performance.now() - killedAt;
    expect(status, 'the session URL once the session ended').toBe(404);
    // 6 s of silence, plus up to ~1.5 s since the last report, plus polling.
    console.log(`vanished viewer: session ended ${Math.round(endedAfterMs)} ms after the kill`);
    expect(endedAfterMs).toBeLessThan(10_000);
    expect(endedAfterMs).toBeGreaterThan(3_000);
    const state = (await (await fetch(`${server.url}/status`)).json()) as {
      sessions: { active: number };
    };
    expect(state.sessions.active).toBe(0);
    expect(server.media.size).toBe(0);
    // The peer's ICE socket is closed (a moment after the session ends).
    await expect.poll(async () => (await resources()).udp, { timeout: 3000 }).toBe(before.udp);
  }, 60_000);
});
