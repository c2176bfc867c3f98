import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The built CLI; E2E_SERVER_CLI points elsewhere (e.g. a build of another revision). */
const CLI =
  process.env.E2E_SERVER_CLI ??
  fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));

/** The built server (`npm run build`) as a child process, serving the marker avatar. */
export type ServerProcess = {
  url: string;
  port: number;
  /** SIGTERM: the server shuts down cleanly (sessions closed, DTLS close alerts sent). */
  stop(): Promise<void>;
  /** SIGKILL: the server vanishes without a word, as after a crash or a power cut. */
  kill(): Promise<void>;
};

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Other clips and cache than globalSetup's; `compiled: false` returns while it still compiles;
 * `env`: more settings (e.g. AVATAR_TOKEN_SECRET); `args`: more flags (e.g. `--config`).
 */
export type ServerOptions = {
  videosDir?: string;
  cacheDir?: string;
  compiled?: boolean;
  env?: Record<string, string>;
  /** More command-line arguments, e.g. `--config <file>`. */
  args?: string[];
};

/**
 * Starts `avatar-server serve` on the marker clips (made by globalSetup) and resolves once the
 * default avatar is compiled (a WHEP POST no longer answers 503).
 */
export async function startServer(
  port?: number,
  options: ServerOptions = {},
): Promise<ServerProcess> {
  const p = port ?? (await freePort());
  const videosDir = options.videosDir ?? process.env.E2E_VIDEOS_DIR!;
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--videos-dir', videosDir, '--port', String(p), ...(options.args ?? [])],
    {
      env: {
        ...process.env,
        AVATAR_HOST: '127.0.0.1',
        AVATAR_CACHE_DIR: options.cacheDir ?? process.env.E2E_CACHE_DIR!,
        AVATAR_KEYFRAME_INTERVAL: '10',
        AVATAR_X264_PRESET: 'ultrafast',
        AVATAR_LOG_LEVEL: process.env.E2E_LOG ?? 'error',
        ...options.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${p}`;
  if (options.compiled === false) await waitListening(url, child);
  else await waitCompiled(url, child);
  return { url, port: p, stop: () => stop(child), kill: () => stop(child, 'SIGKILL') };
}

async function waitCompiled(url: string, child: ChildProcess) {
  const deadline = Date.now() + 170_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const status = await fetch(`${url}/whep/avatars/default`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: 'v=0',
    }).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 0 && status !== 503) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not finish compiling the marker avatar');
}

async function waitListening(url: string, child: ChildProcess) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start listening');
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  // A killed child has a signalCode and no exitCode.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
