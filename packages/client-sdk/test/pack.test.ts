import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a web developer gets it: `npm pack`ed, installed from the tarball into a fresh
 * app (offline, from the npm cache), type-checked with the strictest settings a project uses
 * (strict, exactOptionalPropertyTypes, no skipLibCheck) as ESM and as CommonJS, and built with
 * Vite. Needs `npm run build` first.
 */

const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const rootLock = JSON.parse(
  readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8'),
) as { packages: Record<string, LockEntry> };
const app = mkdtempSync(join(tmpdir(), 'sdk-app-'));
/** Runs a command; a failure shows its output (tsc reports on stdout). */
function run(cmd: string, args: string[], cwd = app): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
const installed = join(app, 'node_modules/@avatar-server/client-sdk');

const files: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      noEmit: true,
    },
    include: ['src'],
  }),
  'index.html': '<video id="v"></video><script type="module" src="/src/main.ts"></script>',
  // An ESM page: options with explicit `undefined`s (as a form's optional fields give them).
  'src/main.ts': `import { type Avatar, AvatarError, createAvatar } from '@avatar-server/client-sdk';
const video = document.getElementById('v') as HTMLVideoElement | null;
const token: string | undefined = undefined;
const avatar: Avatar = await createAvatar({
  url: '/whep/avatars/default',
  video: video ?? document.body,
  token: token ?? (async () => 'fresh'),
  iceServers: undefined,
  maxReconnectMs: 60_000,
  on: { waiting: (w) => console.log(w.retryInMs, w.progress), ready: undefined },
});
const off = avatar.on('reconnecting', ({ attempt, delayMs }) => console.log(attempt, delayMs));
off();
avatar.once('disconnected', (e: AvatarError) => console.log(e.reason === 'timeout'));
avatar.on('error', (e, final) => console.log(e.reason, final));
avatar.on('autoplayblocked', () => void avatar.play());
const stats = await avatar.getStats();
console.log(stats.timeToFirstFrameMs?.toFixed(0), (await avatar.setSpeaking(true)).latencyMs);
`,
  // A CommonJS module (node16 resolution picks the package's \`require\` condition).
  'src/server.cts': `import sdk = require('@avatar-server/client-sdk');
const reason: sdk.AvatarErrorReason = 'unsupported';
export const check = (e: unknown) => e instanceof sdk.AvatarError && e.reason === reason;
`,
};

beforeAll(() => {
  expect(existsSync(join(sdkDir, 'dist/avatar.mjs')), 'run npm run build first').toBe(true);
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', app], sdkDir).trim();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(app, name, '..'), { recursive: true });
    writeFileSync(join(app, name), text);
  }
  // TypeScript and Vite as this repository locks them (so `npm ci` has put them in the cache).
  const tools = lockClosure(['typescript', 'vite']);
  const pkg = {
    name: 'sdk-app',
    private: true,
    type: 'module',
    dependencies: { '@avatar-server/client-sdk': `file:./${tarball.split('\n').pop()}` },
    devDependencies: {
      typescript: tools['node_modules/typescript']!.version,
      vite: tools['node_modules/vite']!.version,
    },
  };
  const lock = {
    name: pkg.name,
    lockfileVersion: 3,
    requires: true,
    packages: { '': pkg, ...tools },
  };
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error']);
}, 240_000);
afterAll(() => rmSync(app, { recursive: true, force: true }));

type LockEntry = {
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

/**
 * The root lockfile's entries for `names` and everything they need, as node resolves it (nested
 * `node_modules` first, then upwards). An app lockfile made of them installs offline: npm needs no
 * registry metadata for locked entries, only the cached tarballs.
 */
function lockClosure(names: string[]): Record<string, LockEntry> {
  const all = rootLock.packages;
  const out: Record<string, LockEntry> = {};
  const find = (from: string, name: string): string | undefined => {
    for (let base = from; ; ) {
      const path = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (all[path]) return path;
      if (!base) return undefined;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const add = (path: string) => {
    const entry = all[path];
    if (out[path] || !entry) return;
    out[path] = entry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (d) => !entry.peerDependenciesMeta?.[d]?.optional,
    );
    const deps = Object.keys({ ...entry.dependencies, ...entry.optionalDependencies });
    for (const dep of [...deps, ...peers]) {
      const found = find(path, dep);
      if (found) add(found);
    }
  };
  for (const name of names) add(`node_modules/${name}`);
  return out;
}

describe('the packed SDK in a fresh app', () => {
  it('ships README, LICENSE, the builds, types and the sources its maps point to; no dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined();
    expect(pkg.dependencies ?? {}).toEqual({});
    for (const f of ['README.md', 'LICENSE', 'dist/avatar.iife.js', 'dist/cjs/avatar.js']) {
      expect(existsSync(join(installed, f)), f).toBe(true);
    }
    for (const map of [
      'dist/avatar.mjs.map',
      'dist/cjs/avatar.js.map',
      'dist/avatar.iife.js.map',
    ]) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(installed, map), 'utf8'));
      expect(sources.length).toBeGreaterThan(5);
      for (const source of sources as string[]) {
        expect(source, map).toMatch(/\/src\/\w+\.ts$/);
        expect(existsSync(join(installed, map, '..', source)), `${map} → ${source}`).toBe(true);
      }
      expect(sourcesContent).toHaveLength(sources.length);
    }
  });

  it('type-checks as ESM and CommonJS (strict, exactOptionalPropertyTypes, lib checked)', () => {
    run('npx', ['tsc', '-p', '.']);
  });

  it('builds with Vite', () => {
    run('npx', ['vite', 'build', '--logLevel', 'error']);
    expect(existsSync(join(app, 'dist/index.html'))).toBe(true);
  });

  it('loads with import and require; without a DOM createAvatar says so', () => {
    const script = (load: string) =>
      `${load}.createAvatar({ url: 'x', video: {} }).catch((e) => console.log(e.name, e.reason))`;
    expect(
      run('node', [
        '--input-type=module',
        '-e',
        script("(await import('@avatar-server/client-sdk'))"),
      ]),
    ).toBe('AvatarError unsupported\n');
    expect(run('node', ['-e', script("require('@avatar-server/client-sdk')")])).toBe(
      'AvatarError unsupported\n',
    );
  });
});
