import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('build-if-changed.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'build-if-changed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A workspace whose build appends a line to build.log and writes dist/out.txt. */
function workspace() {
  const dir = join(root, 'pkg');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'input.txt'), 'v1');
  const build = `node -e "const fs=require('fs');fs.mkdirSync('dist',{recursive:true});fs.writeFileSync('dist/out.txt','x');fs.appendFileSync('../build.log','built\\\\n')"`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pkg', scripts: { build } }));
  return dir;
}

const builds = () => readFileSync(join(root, 'build.log'), 'utf8').split('\n').filter(Boolean);
const run = (dir: string, ...inputs: string[]) =>
  spawnSync(process.execPath, [SCRIPT, dir, ...inputs], { encoding: 'utf8' });

describe('build-if-changed', () => {
  it('builds when dist is missing or older than an input, and skips otherwise', () => {
    const dir = workspace();
    expect(run(dir).status).toBe(0);
    expect(builds()).toHaveLength(1);

    const second = run(dir);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/up to date/);
    expect(builds()).toHaveLength(1);

    // A source newer than the output, as after an edit.
    const later = new Date(Date.now() + 10_000);
    utimesSync(join(dir, 'src', 'input.txt'), later, later);
    expect(run(dir).status).toBe(0);
    expect(builds()).toHaveLength(2);

    // An extra input outside the workspace (shared config, another package's dist).
    const shared = join(root, 'shared.json');
    writeFileSync(shared, '{}');
    const evenLater = new Date(Date.now() + 20_000);
    utimesSync(shared, evenLater, evenLater);
    expect(run(dir, shared).status).toBe(0);
    expect(builds()).toHaveLength(3);
  });
});
