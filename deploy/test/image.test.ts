/**
 * deploy/Dockerfile, for real: builds the image, starts it with a videos folder mounted on the
 * host's network, waits for /ready, checks the demo at /, and plays a WHEP session to a werift
 * receiver whose pictures are decoded and read back. Slow (a full image build), so it runs only
 * when AVATAR_DOCKER_TEST=1 (`.ci/run` sets it once per CI run, not once per Node version); with
 * the flag set, a Docker that does not work fails the test instead of skipping it.
 *
 * The engine: the running one, else scripts/docker/dockerd.sh starts Debian's dockerd. The base:
 * AVATAR_DOCKER_BASE (e.g. node:24-bookworm-slim where Docker Hub is reachable), else the local
 * one scripts/docker/local-base.sh makes from Debian's packages and the npm registry.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  decodeMarkers,
  LOOP,
  type MarkerAvatarDir,
  makeMarkerVideos,
  WhepTestClient,
  waitFor,
} from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from './docker.js';
import { IMAGE, repoRoot } from './image.js';

const enabled = process.env.AVATAR_DOCKER_TEST === '1';
const root = fileURLToPath(repoRoot);
const SIZE = 128;
const LOCAL_BASE = 'avatar-base:bookworm-node24';
/** Where local-base.sh puts this machine's CA bundle inside the local base. */
const LOCAL_BASE_CA = '/usr/local/share/build-ca.pem';
/** Starting a container: with the vfs storage driver it copies the whole image (a minute here). */
const CONTAINER_MS = 5 * 60_000;

/** A TCP port free right now on the host (the container shares the host's network). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const script = (name: string) =>
  execFileSync('bash', [`scripts/docker/${name}`], { cwd: root, stdio: 'inherit' });

describe.skipIf(!enabled)('deploy/Dockerfile', () => {
  let videos: MarkerAvatarDir;
  let container = '';
  let base = '';

  beforeAll(async () => {
    script('dockerd.sh');
    const buildArgs: string[] = [];
    base = process.env.AVATAR_DOCKER_BASE ?? '';
    if (!base) {
      script('local-base.sh');
      base = LOCAL_BASE;
      buildArgs.push('--build-arg', `NODE_EXTRA_CA_CERTS=${LOCAL_BASE_CA}`);
    }
    const started = performance.now();
    await docker(
      [
        ...['build', '--network', 'host', '-t', IMAGE, '-f', 'deploy/Dockerfile'],
        ...['--build-arg', `BASE=${base}`, ...buildArgs, '.'],
      ],
      { cwd: root, timeoutMs: 40 * 60_000 },
    );
    console.log(
      `docker build (base ${base}): ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    videos = await makeMarkerVideos({ idleFrames: 50, speakingFrames: 40, size: SIZE });
  }, 45 * 60_000);

  afterAll(async () => {
    if (container) await docker(['rm', '-f', container], { allowFailure: true });
    if (videos) rmSync(videos.root, { recursive: true, force: true });
  });

  it(
    'runs as a non-root user with no compilers or dev packages',
    async () => {
      const { stdout } = await docker([
        ...['run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c'],
        [
          'id -u',
          'for t in gcc cc make g++ tsc vite rollup; do command -v $t; done',
          'for p in typescript vite vitest rollup @biomejs/biome ffmpeg-static; do [ -e node_modules/$p/package.json ] && echo $p; done',
          'ls packages/demo/dist',
          // The control: the server's own packages are there.
          'test -e node_modules/werift/package.json && echo werift',
        ].join('; '),
      ]);
      const [uid, ...rest] = stdout.trim().split('\n');
      expect(Number(uid)).toBeGreaterThan(0);
      const expected = ['assets', 'index.html', 'werift'];
      expect(rest.filter((line) => !expected.includes(line))).toEqual([]);
      expect(rest).toContain('werift');
      expect(rest).toContain('index.html');
    },
    CONTAINER_MS,
  );

  it(
    'serves the demo at / and streams a WHEP session from a mounted videos folder',
    async () => {
      const port = await freePort();
      const name = `avatar-docker-test-${process.pid}`;
      // As in Kubernetes: a read-only root; /tmp and the mounted cache writable by the image's user.
      mkdirSync(videos.cacheDir, { recursive: true });
      chmodSync(videos.cacheDir, 0o777);
      container = name; // removed after the tests even if `docker run` fails half-way
      await docker([
        ...['run', '-d', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp'],
        ...['-v', `${videos.videosDir}:/srv/videos:ro`, '-v', `${videos.cacheDir}:/srv/cache`],
        ...['-e', `AVATAR_PORT=${port}`, '-e', `AVATAR_SIZE=${SIZE}`, '-e', 'AVATAR_WORKERS=1'],
        ...['--health-interval', '2s', '--health-start-period', '60s'],
        IMAGE,
      ]);
      const url = `http://127.0.0.1:${port}`;
      const logs = async () => await docker(['logs', '--tail', '30', name], { allowFailure: true });
      const running = async () => {
        const state = await docker(['inspect', '-f', '{{.State.Running}}', name]);
        if (state.stdout.trim() !== 'true') {
          const { stdout, stderr } = await logs();
          throw new Error(`the container exited:\n${stdout}${stderr}`);
        }
      };

      // Ready once the default avatar (the mounted marker clips) is compiled.
      await waitFor(
        async () => {
          await running();
          return (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200;
        },
        { timeoutMs: 180_000, intervalMs: 500, what: `${url}/ready to answer 200` },
      );

      expect(
        readdirSync(videos.cacheDir).length,
        'the compiled avatar is in the mounted cache',
      ).toBeGreaterThan(0);

      // The demo: the built page (its script is a bundle under /assets, not the sources).
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<title>Avatar Server');
      const bundle = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
      expect(bundle, 'the page loads a built bundle').toBeDefined();
      const script = await fetch(`${url}${bundle}`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);

      // A real WebRTC session: the pictures decode and carry the idle loop's markers in order.
      const client = new WhepTestClient();
      try {
        const response = await client.connect(`${url}/whep/avatars/default`);
        expect(response.status).toBe(201);
        await client.waitForFrames(30, 60_000);
        const frames = client.frames.slice(0, 30);
        const markers = await decodeMarkers({
          input: Buffer.concat(frames.map((f) => f.annexB)),
          size: SIZE,
          format: 'h264',
        });
        expect(markers).toHaveLength(frames.length);
        for (const [i, marker] of markers.entries()) {
          expect(marker, `picture ${i} has a readable marker`).not.toBeNull();
          expect(marker!.loop).toBe(LOOP.idle);
          if (i > 0) expect(marker!.frame).toBe((markers[i - 1]!.frame + 1) % 50);
        }
      } finally {
        await client.close();
      }

      // Docker's HEALTHCHECK (every 2 s here) sees the server healthy.
      await waitFor(
        async () =>
          (await docker(['inspect', '-f', '{{.State.Health.Status}}', name])).stdout.trim() ===
          'healthy',
        { timeoutMs: 60_000, intervalMs: 500, what: 'the HEALTHCHECK to report healthy' },
      );

      // `docker stop` sends SIGTERM through tini: the server shuts down cleanly (exit code 0).
      await docker(['stop', '-t', '30', name], { timeoutMs: 60_000 });
      const exit = await docker(['inspect', '-f', '{{.State.ExitCode}}', name]);
      expect(exit.stdout.trim(), (await logs()).stdout).toBe('0');
    },
    10 * 60_000,
  );
});
