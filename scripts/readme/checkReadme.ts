/**
 * Runs the commands README.md shows, as written, on a fresh clone of the committed tree, so the
 * README cannot drift from the product: `npm run check:readme` (`.ci/run` runs it).
 *
 * Each command must exit 0, and a `curl` must get a 2xx answer (curl runs with --fail-with-body);
 * what the commands print is not checked, so wording may change. Servers (`npm start`, `npx
 * avatar-server serve`, the backend example) run in the background until they answer, and stay
 * up for the `curl` lines after them. Uncommitted changes are not in the clone.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ReadmeCommand, readmeCommands } from './readmeCommands.js';

/** Commands not run, and why. Keep this list short: every entry is a README line nobody checks. */
const SKIPPED: { pattern: RegExp; why: string }[] = [
  {
    // deploy/install.sh and systemctl: an `avatar` user, /opt/avatar-server, a systemd unit.
    pattern: /^sudo /,
    why: 'changes the machine it runs on (users, /opt, systemd)',
  },
  {
    // docker build / docker run: deploy/test/image.test.ts builds deploy/Dockerfile and runs the
    // image (`.ci/run` runs it once per CI run, with a base image made without Docker Hub).
    pattern: /^docker /,
    why: 'needs Docker Hub (the node base image); deploy/test/image.test.ts covers the Dockerfile',
  },
];

/**
 * What the check changes in a command before running it: the ports (so it can run beside a server
 * on 8765) and the service's videos folder, which is the clone's `videos/` here.
 */
function substitute(text: string, ctx: Context): string {
  return text
    .replaceAll('localhost:8765', `localhost:${ctx.ports.main}`)
    .replaceAll('localhost:3100', `localhost:${ctx.ports.backend}`)
    .replaceAll('/opt/avatar-server/videos/', `${join(ctx.clone, 'videos')}/`);
}

/** Environment for some commands: settings the README asks for, and a guard. */
const CONTEXT: { pattern: RegExp; env: () => NodeJS.ProcessEnv; why: string }[] = [
  {
    pattern: /^npx /,
    env: () => ({ npm_config_offline: 'true' }),
    why: 'npx must find the command in the clone, never download a package of that name',
  },
  {
    pattern: /^npx avatar-server token\b/,
    env: () => ({ AVATAR_TOKEN_SECRET: randomBytes(32).toString('hex') }),
    why: 'the README says to set tokenSecret first',
  },
  {
    pattern: /^(npm start|npx avatar-server serve)\b/,
    env: () => ({ AVATAR_CLIP_REQUESTS: 'true' }),
    why: 'the README says its clip-path /streams example needs clipRequests: true',
  },
];

/** Commands that serve until stopped, on which port, and the path that answers once they listen. */
const SERVERS: { pattern: RegExp; port: keyof Ports; base: string }[] = [
  { pattern: /^npm start\b/, port: 'main', base: '' },
  { pattern: /^npx avatar-server serve\b/, port: 'main', base: '' },
  { pattern: /^node examples\/backend\/backend\.mjs\b/, port: 'backend', base: '/api/avatar' },
];

type Ports = { main: number; backend: number };
type Context = { clone: string; ports: Ports; env: NodeJS.ProcessEnv };
type Running = { command: ReadmeCommand; child: ChildProcess; output: () => string };

const SERVER_READY_MS = 5 * 60_000; // `npm start` builds first
const COMPILED_MS = 10 * 60_000; // a first compile on a loaded 2-core machine
const COMMAND_MS = 15 * 60_000; // `npm ci` on a cold cache

class ReadmeFailure extends Error {}

async function main() {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
  const commands = readmeCommands(readFileSync(join(root, 'README.md'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'readme-check-'));
  const clone = join(work, 'clone');
  console.log(`README check: ${commands.length} commands, on a clone of ${root} in ${clone}`);
  execFileSync('git', ['clone', '--quiet', root, clone], { stdio: 'inherit' });
  const ctx: Context = {
    clone,
    ports: { main: await freePort(), backend: await freePort() },
    env: readerEnvironment(work),
  };
  ctx.env.AVATAR_PORT = String(ctx.ports.main);
  ctx.env.PORT = String(ctx.ports.backend);
  makeRecordings(clone);

  const servers = new Map<keyof Ports, Running>();
  const lastServer = new Map<keyof Ports, ReadmeCommand>();
  let ok = false;
  try {
    for (const command of commands) {
      const skip = SKIPPED.find((s) => s.pattern.test(command.text));
      if (skip) {
        console.log(`README.md:${command.line} skipped (${skip.why}): ${command.text}`);
        continue;
      }
      const server = SERVERS.find((s) => s.pattern.test(command.text));
      if (server) {
        await stop(servers, server.port);
        lastServer.set(server.port, command);
        servers.set(server.port, await serve(command, server.port, ctx));
        continue;
      }
      const target = requestTarget(command.text);
      if (target) {
        // A request needs its server: the last one the README started on that port.
        if (!servers.has(target)) {
          const starter = lastServer.get(target);
          if (!starter) throw new ReadmeFailure(`no server command before ${where(command)}`);
          servers.set(target, await serve(starter, target, ctx));
        }
        await avatarsCompiled(target, ctx);
      } else {
        // Other commands may need the port (doctor), the cache and the CPU (compile).
        for (const port of [...servers.keys()]) await stop(servers, port);
      }
      await run(command, ctx);
    }
    ok = true;
  } finally {
    for (const port of [...servers.keys()]) await stop(servers, port).catch(() => {});
    if (ok) rmSync(work, { recursive: true, force: true });
    else console.error(`README check: the clone stays in ${clone}`);
  }
  console.log('README check: every command worked');
}

/**
 * The environment of a reader's shell: no npm_* variables from `npm run`, and `curl` that fails
 * on an HTTP error (its answer is still printed), so a 4xx or 5xx fails the command.
 */
function readerEnvironment(work: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'INIT_CWD'),
  );
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const curl = execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'curl'),
    `#!/bin/sh\nexec ${curl} --fail-with-body --silent --show-error --max-time 300 "$@"\n`,
  );
  chmodSync(join(bin, 'curl'), 0o755);
  return { ...env, PATH: `${bin}:${env.PATH}` };
}

/**
 * The reader's own material the README starts from: a recording (`your_speaking_recording.mp4`,
 * another size and frame rate, with sound) and an idle clip already in the videos folder.
 */
function makeRecordings(clone: string) {
  const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
  const quiet = ['-hide_banner', '-loglevel', 'error', '-y'];
  execFileSync(ffmpeg, [
    ...quiet,
    ...['-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30:d=4', '-f', 'lavfi', '-i', 'sine=d=4'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest'],
    join(clone, 'your_speaking_recording.mp4'),
  ]);
  execFileSync(ffmpeg, [
    ...quiet,
    ...['-f', 'lavfi', '-i', 'smptebars=s=512x512:r=25:d=4'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-an'],
    join(clone, 'videos', 'jesus_reposo.mp4'),
  ]);
}

/**
 * Which server a command talks to: a curl at localhost:8765 or :3100, also inside a larger
 * command (`SESSION=$(curl … /streams …) && curl …`).
 */
function requestTarget(text: string): keyof Ports | undefined {
  if (!/(^|[\s($;&|])curl\b/.test(text)) return undefined;
  if (text.includes('localhost:3100')) return 'backend';
  if (text.includes('localhost:8765')) return 'main';
  return undefined;
}

const where = (c: ReadmeCommand) => `README.md:${c.line}: ${c.text.split('\n')[0]}`;

function envFor(command: ReadmeCommand, ctx: Context): NodeJS.ProcessEnv {
  const extra = CONTEXT.filter((c) => c.pattern.test(command.text)).map((c) => c.env());
  return Object.assign({ ...ctx.env }, ...extra);
}

function start(command: ReadmeCommand, ctx: Context) {
  const child = spawn('bash', ['-o', 'pipefail', '-c', substitute(command.text, ctx)], {
    cwd: ctx.clone,
    env: envFor(command, ctx),
    detached: true, // its own process group, so stopping it stops npm and the server under it
  });
  let output = '';
  const append = (d: Buffer) => {
    output = (output + d).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  return { child, exited, output: () => output };
}

/** A one-shot command: must exit 0. */
async function run(command: ReadmeCommand, ctx: Context) {
  const started = Date.now();
  process.stdout.write(`${where(command)} … `);
  const { child, exited, output } = start(command, ctx);
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), COMMAND_MS);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) {
    console.log('FAILED');
    throw new ReadmeFailure(`${where(command)}\nfailed with exit ${code}:\n${tail(output())}`);
  }
  console.log(`ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** A server command: started in the background, ready when its /health answers 200. */
async function serve(command: ReadmeCommand, port: keyof Ports, ctx: Context): Promise<Running> {
  const started = Date.now();
  process.stdout.write(`${where(command)} … `);
  const running = start(command, ctx);
  const { base } = SERVERS.find((s) => s.pattern.test(command.text))!;
  const health = `http://127.0.0.1:${ctx.ports[port]}${base}/health`;
  while (!(await answers(health))) {
    if (running.child.exitCode !== null || Date.now() - started > SERVER_READY_MS) {
      console.log('FAILED');
      killGroup(running.child, 'SIGKILL');
      throw new ReadmeFailure(
        `${where(command)}\ndid not serve ${health}:\n${tail(running.output())}`,
      );
    }
    await sleep(200);
  }
  console.log(`serving (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return { command, child: running.child, output: running.output };
}

/** Before a request: the avatars found at start have compiled (the first start compiles them). */
async function avatarsCompiled(port: keyof Ports, ctx: Context) {
  const base = port === 'backend' ? '/api/avatar' : '';
  const url = `http://127.0.0.1:${ctx.ports[port]}${base}/avatars`;
  const deadline = Date.now() + COMPILED_MS;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    const avatars = res?.ok ? ((await res.json()) as { state: string }[]) : [];
    if (res?.ok && avatars.every((a) => a.state !== 'compiling')) return;
    if (Date.now() > deadline) throw new ReadmeFailure(`avatars still compiling at ${url}`);
    await sleep(500);
  }
}

/** Stops a server as systemd or Ctrl+C would; it must be gone within 15 s. */
async function stop(servers: Map<keyof Ports, Running>, port: keyof Ports) {
  const running = servers.get(port);
  if (!running) return;
  servers.delete(port);
  if (running.child.exitCode !== null) {
    throw new ReadmeFailure(
      `${where(running.command)}\nstopped by itself:\n${tail(running.output())}`,
    );
  }
  const gone = new Promise((ok) => running.child.once('close', ok));
  killGroup(running.child, 'SIGTERM');
  const timeout = sleep(15_000).then(() => 'timeout');
  if ((await Promise.race([gone, timeout])) === 'timeout') {
    killGroup(running.child, 'SIGKILL');
    throw new ReadmeFailure(`${where(running.command)}\ndid not stop within 15 s of SIGTERM`);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

async function answers(url: string) {
  const res = await fetch(url).catch(() => undefined);
  return res?.status === 200;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, ok));
  const address = server.address();
  await new Promise((ok) => server.close(ok));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

const tail = (text: string) => text.split('\n').slice(-40).join('\n');
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

main().catch((err: Error) => {
  console.error(err instanceof ReadmeFailure ? `README check failed: ${err.message}` : err);
  process.exit(1);
});
