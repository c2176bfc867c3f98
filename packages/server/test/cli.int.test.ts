import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeMarkerVideos } from '@avatar-server/testkit';
import { describe, expect, it } from 'vitest';
import { verifyToken } from '../src/lib/signedToken.js';
import { probeClip } from '../src/media/probeClip.js';

/** The `avatar-server` command as a user runs it (from source, through tsx). */
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
/** tsx, resolved here: the command runs in an empty temporary folder. */
const TSX = import.meta.resolve('tsx');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    env: { ...process.env, ...env, CI: '1' },
    cwd: mkdtempSync(join(tmpdir(), 'cli-')),
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  return { child, exited, output: () => out };
}

async function result(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = run(args, env);
  return { code: await r.exited, output: r.output() };
}

describe('avatar-server CLI', () => {
  it('token mints a signed token for an avatar with the configured secret', async () => {
    const secret = 'cli-test-secret-0123456789abcdefgh';
    const { code, output } = await result(['token', '--avatar', 'jesus', '--ttl', '60'], {
      AVATAR_TOKEN_SECRET: secret,
    });
    expect(code).toBe(0);
    const check = verifyToken(secret, output.trim());
    expect(check).toEqual({ ok: true, avatars: ['jesus'] });
  });

  it('secrets off the command line: --token-secret-file works; --token-secret works with a warning', async () => {
    const secret = 'cli-test-secret-0123456789abcdefgh';
    const file = join(mkdtempSync(join(tmpdir(), 'cli-secret-')), 'secret');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    const fromFile = await result(['token', '--token-secret-file', file], {
      AVATAR_TOKEN_SECRET: '',
    });
    expect(fromFile.code).toBe(0);
    expect(fromFile.output).not.toMatch(/warning/);
    expect(verifyToken(secret, fromFile.output.trim())).toEqual({ ok: true, avatars: undefined });

    const r = run(['token', '--token-secret', secret], { AVATAR_TOKEN_SECRET: '' });
    let stderr = '';
    r.child.stderr?.on('data', (d) => {
      stderr += d;
    });
    expect(await r.exited).toBe(0);
    expect(stderr).toMatch(
      /^avatar-server: warning: --token-secret puts a secret on the command line.*use --token-secret-file PATH or AVATAR_TOKEN_SECRET$/m,
    );
    expect(stderr).not.toContain(secret);
  });

  it('doctor with a missing ffmpeg: a FAIL line naming the path and a fix, exit 1', async () => {
    const { code, output } = await result([
      'doctor',
      '--ffmpeg-path',
      '/nonexistent/ffmpeg',
      '--port',
      '0',
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/^FAIL ffmpeg not found at '\/nonexistent\/ffmpeg'/m);
    expect(output).toMatch(/fix: fix the path or remove the setting/);
    expect(output).toMatch(/^FAIL videos folder .* does not exist\n {5}fix: mkdir -p /m);
    expect(output).toMatch(/^ok {3}port 0 .* is free/m);
    expect(output).toMatch(/problem\(s\) to fix/);
  });

  it.each([
    [['serve', '--port', 'eighty'], {}, /^avatar-server: --port: 'eighty' is not a number$/m],
    [['serve'], { AVATAR_FPS: '0' }, /^avatar-server: configuration: 'fps': /m],
    [['serve'], { AVATAR_ENCODER: 'quicksync' }, /'encoder'.*auto.*nvenc.*x264/],
    [['serve', '--config', 'missing.yaml'], {}, /--config missing\.yaml: no such file/],
    [['prepare'], {}, /prepare needs an input and --output/],
    [['prepare', 'missing.mp4', '--output', 'x.mp4'], {}, /missing\.mp4 is not a readable video/],
    [
      ['prepare', 'in.mp4', '-o', 'x.mp4', '--crf', 'best'],
      {},
      /--crf best: expected a positive number/,
    ],
    [['launch'], {}, /unknown command 'launch'/],
    [['token', '--avatar', 'x'], {}, /^avatar-server: set tokenSecret/m],
    [['token', '--ttl', 'soon'], { AVATAR_TOKEN_SECRET: 'x'.repeat(32) }, /--ttl soon/],
  ])('%j %j: one line saying what is wrong, exit 1', async (args, env, message) => {
    const { code, output } = await result(args, env);
    expect(code).toBe(1);
    expect(output).toMatch(message);
    expect(output).not.toMatch(/^\s+at /m); // no stack trace
  });

  it('prepare turns a recording of another size and frame rate into a clip for the videos folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prepare-'));
    try {
      const input = join(dir, 'recording.mp4');
      execFileSync(process.env.FFMPEG_PATH ?? 'ffmpeg', [
        ...[
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=s=320x180:r=30:d=4',
        ],
        ...['-f', 'lavfi', '-i', 'sine=d=4', '-c:v', 'libx264', '-c:a', 'aac', '-shortest', input],
      ]);
      const output = join(dir, 'idle.mp4');
      const args = ['prepare', input, '--output', output, '--size', '256', '--fps', '25'];
      const { code, output: text } = await result([
        ...args,
        '--start',
        '1',
        '--duration',
        '2',
        '--enhance',
      ]);
      expect(code, text).toBe(0);
      expect(text).toMatch(/100%/);
      const info = await probeClip(process.env.FFMPEG_PATH ?? 'ffmpeg', output);
      expect(info).toMatchObject({ width: 256, height: 256, fps: 25, hasAudio: false });
      expect(info.durationSeconds).toBeCloseTo(2, 0);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve on a busy port: one line naming the port and the fix, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    const { port } = taken.address() as AddressInfo;
    try {
      const args = ['serve', '--port', String(port), '--host', '127.0.0.1', '--videos-dir', 'none'];
      const { code, output } = await result(args);
      expect(code).toBe(1);
      const line = `avatar-server: port ${port} on 127.0.0.1 is already in use (another avatar-server?): stop it, or choose another port: --port ${port + 1} or AVATAR_PORT=${port + 1}`;
      expect(output.split('\n')).toContain(line);
      expect(output).not.toMatch(/^\s+at /m); // no stack trace
      expect(output).not.toMatch(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('serve stops gracefully on SIGTERM: stops accepting, ends sessions, exits 0', async () => {
    const server = run(['serve', '--port', '0', '--host', '127.0.0.1', '--videos-dir', 'none']);
    await waitForLine(server.child, server.output, /"msg":"listening"/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"shutting down"/);
  });
});

describe('avatar-server serve output', () => {
  /** A small marker avatar to compile, and the flags that serve it from a fresh cache. */
  async function avatarFlags() {
    const dirs = await makeMarkerVideos({ idleFrames: 30, speakingFrames: 25, size: 128 });
    const flags = [
      ...['serve', '--port', '0', '--host', '127.0.0.1'],
      ...['--videos-dir', dirs.videosDir, '--cache-dir', dirs.cacheDir],
      ...['--size', '128', '--x264-preset', 'ultrafast', '--loop-trim', 'false'],
    ];
    return { flags, cleanup: () => rmSync(dirs.root, { recursive: true, force: true }) };
  }
  /** The demo page is served (and the ready line says "open") once `npm run build` built it. */
  const READY = /ready: (open|WHEP at) http:\/\/127\.0\.0\.1:\d+\//;

  it('piped (systemd, Docker): JSON lines only, and one ready line with the URL', async () => {
    const { flags, cleanup } = await avatarFlags();
    const server = run(flags);
    try {
      await waitForLine(server.child, server.output, /"msg":"ready: /);
      const lines = server.output().trim().split('\n');
      for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
      const ready = lines.map((l) => JSON.parse(l)).filter((l) => /^ready: /.test(l.msg));
      expect(ready).toHaveLength(1);
      expect(ready[0].msg).toMatch(READY);
      expect(ready[0].url).toBe(ready[0].msg.replace(/^ready: (open|WHEP at) /, ''));
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      cleanup();
    }
  });

  it.skipIf(!hasScript())(
    'at a terminal (a pseudo-TTY from script(1)): readable lines with time and level, no JSON',
    async () => {
      const { flags, cleanup } = await avatarFlags();
      const command = ['exec', process.execPath, '--import', TSX, CLI, ...flags]
        .map((a) => `'${a}'`)
        .join(' ')
        .replace("'exec'", 'exec');
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: { ...process.env, NO_COLOR: '1' },
        cwd: mkdtempSync(join(tmpdir(), 'cli-')),
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      const exited = new Promise((ok) => child.on('close', ok));
      try {
        await waitForLine(child, () => out, READY);
        const text = out.replace(/\r/g, '');
        expect(text).toMatch(
          /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening url=http:\/\/127\.0\.0\.1:\d+/m,
        );
        expect(text).toMatch(
          /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[default\] ready: (open|WHEP at) http/m,
        );
        expect(text).not.toContain('{"level"');
      } finally {
        child.kill('SIGTERM');
        await exited;
        cleanup();
      }
    },
  );
});

function hasScript() {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitForLine(child: ChildProcess, output: () => string, line: RegExp) {
  const deadline = Date.now() + 30_000;
  while (!line.test(output())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${line} in:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
