/**
 * Time to first frame in Chromium, in parts: where the ≈ 200 ms from "connect" to the first
 * presented picture go. A page speaks WHEP as the SDK does (a recvonly video section and the
 * control channel, non-trickle, POSTed once host candidates settle) and stamps each step against the
 * same start: candidates gathered, answer received, ICE connected, DTLS connected (Chromium's
 * connection state), first RTP packet (the track unmutes), first picture presented
 * (requestVideoFrameCallback), data channel open.
 *
 * `--baseline-cli <path of another build's dist/cli.js>` runs that build's server too, and the
 * connections alternate between the two in one run, so their ratio holds on a loaded machine.
 * Usage: npx tsx bench/ttff.ts [--connections 30] [--baseline-cli ../main/packages/server/dist/cli.js]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makeMarkerVideos } from '@avatar-server/testkit';
import { chromium } from 'playwright-core';
import { chromiumArgs, executablePath } from '../e2e/support/chromium.js';
import { type ServerProcess, startServer } from '../e2e/support/server.js';
import { summary } from './stats.js';

type Parts = Record<string, number>;

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '30' },
    'baseline-cli': { type: 'string' },
  },
});
const CONNECTIONS = Number(values.connections);

/** Runs in the page: one WHEP connection, its steps in ms since the start. */
async function connectOnce(url: string): Promise<Parts> {
  const t0 = performance.now();
  const parts: Record<string, number> = {};
  const stamp = (name: string) => {
    parts[name] ??= Math.round((performance.now() - t0) * 10) / 10;
  };
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.style.width = '128px';
  document.body.append(video);
  pc.addTransceiver('video', { direction: 'recvonly' });
  const dc = pc.createDataChannel('control');
  dc.onopen = () => stamp('dataChannelOpen');
  pc.ontrack = (e) => {
    video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    e.track.onunmute = () => stamp('firstPacket');
  };
  pc.oniceconnectionstatechange = () => {
    if (pc.iceConnectionState === 'connected') stamp('iceConnected');
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected') stamp('dtlsConnected');
  };
  await pc.setLocalDescription(await pc.createOffer());
  // As the SDK does (client-sdk/src/peer.ts `gathered`): without STUN/TURN, POST once no new
  // host candidate came for 25 ms (Chromium says `complete` only ≈ 130 ms later), at most 1 s.
  await new Promise<void>((resolve) => {
    let settle: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(settle);
      resolve();
    };
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
    pc.onicecandidate = () => {
      clearTimeout(settle);
      settle = setTimeout(done, 25);
    };
    setTimeout(done, 1000);
  });
  stamp('gathered');
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription!.sdp,
  });
  if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
  const sessionUrl = new URL(res.headers.get('Location')!, url).href;
  const answer = await res.text();
  stamp('answered');
  // 1 when the server answered as the DTLS server (the browser then starts the handshake).
  parts.serverIsDtlsServer = /^a=setup:passive/m.test(answer) ? 1 : 0;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await new Promise<void>((resolve) => video.requestVideoFrameCallback(() => resolve()));
  stamp('firstFrame');
  await new Promise((r) => setTimeout(r, 100));
  await fetch(sessionUrl, { method: 'DELETE' });
  pc.close();
  video.remove();
  return parts;
}

const ORDER = [
  'gathered',
  'answered',
  'iceConnected',
  'dtlsConnected',
  'firstPacket',
  'firstFrame',
  'dataChannelOpen',
  'serverIsDtlsServer',
];

async function main() {
  const dirs = await makeMarkerVideos({ idleFrames: 50, speakingFrames: 40, size: 512 });
  process.env.E2E_VIDEOS_DIR = dirs.videosDir;
  process.env.E2E_CACHE_DIR = dirs.cacheDir;
  const servers: Array<{ name: string; server: ServerProcess }> = [];
  const baselineCli = values['baseline-cli'];
  try {
    // Dozens of sessions from one address within a minute: the per-address limit is off.
    const env = { AVATAR_SESSION_RATE_LIMIT_PER_MINUTE: '0' };
    servers.push({ name: 'this build', server: await startServer(undefined, { env }) });
    if (baselineCli) {
      const own = process.env.E2E_SERVER_CLI;
      process.env.E2E_SERVER_CLI = baselineCli;
      servers.push({ name: 'baseline', server: await startServer(undefined, { env }) });
      if (own === undefined) delete process.env.E2E_SERVER_CLI;
      else process.env.E2E_SERVER_CLI = own;
    }
    const browser = await chromium.launch({ executablePath, args: chromiumArgs });
    const results = new Map<string, Parts[]>(servers.map((s) => [s.name, []]));
    try {
      const page = await browser.newPage();
      // tsx keeps function names with a `__name` helper that the page does not have.
      await page.addInitScript('window.__name = (f) => f');
      // A page from the server's origin (about:blank may not fetch loopback); the other server
      // answers it through CORS, as a page of any site may.
      await page.goto(`${servers[0]!.server.url}/health`);
      // One connection to each first, not counted (Chromium and the server warm up).
      for (const { server } of servers) {
        await page.evaluate(connectOnce, `${server.url}/whep/avatars/default`);
      }
      for (let i = 0; i < CONNECTIONS; i++) {
        for (const { name, server } of i % 2 ? [...servers].reverse() : servers) {
          const parts = await page.evaluate(connectOnce, `${server.url}/whep/avatars/default`);
          results.get(name)!.push(parts);
          await page.waitForTimeout(50 + Math.random() * 80);
        }
      }
    } finally {
      await browser.close();
    }
    const report: Record<string, Record<string, ReturnType<typeof summary>>> = {};
    for (const [name, runs] of results) {
      report[name] = Object.fromEntries(
        ORDER.map((part) => [
          part,
          summary(runs.map((r) => r[part]!).filter((v) => v !== undefined)),
        ]),
      );
    }
    console.log(JSON.stringify({ connections: CONNECTIONS, report }, null, 2));
    console.log('\nms since connect (p50 / p95)');
    console.log(['part', ...servers.map((s) => s.name)].join(' | '));
    for (const part of ORDER) {
      console.log(
        [
          part,
          ...servers.map((s) => {
            const v = report[s.name]![part]!;
            return `${v.p50} / ${v.p95}`;
          }),
        ].join(' | '),
      );
    }
  } finally {
    for (const { server } of servers) await server.stop();
    rmSync(dirs.root, { recursive: true, force: true });
  }
}

await main();
