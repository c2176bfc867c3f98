#!/usr/bin/env node
// Builds a workspace (`npm run build` in <dir>) unless its dist/ is newer than every file it is
// built from, as make does: `npm start` after `npm run build` then only checks, in milliseconds.
//   node scripts/build-if-changed.mjs <workspace dir> [<other input file or dir>...]
// Inputs: everything in the workspace outside dist/ and node_modules/, plus the extra paths
// (shared config, the lockfile, another workspace's dist/ it bundles).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [workspace, ...extraInputs] = process.argv.slice(2);
if (!workspace) {
  console.error('usage: node scripts/build-if-changed.mjs <workspace dir> [<input>...]');
  process.exit(2);
}

/** Modification times (ms) of every file under `path`, skipping the named folders. */
function mtimes(path, skip = new Set()) {
  if (!existsSync(path)) return [];
  const stat = statSync(path);
  if (!stat.isDirectory()) return [stat.mtimeMs];
  return readdirSync(path)
    .filter((name) => !skip.has(name))
    .flatMap((name) => mtimes(join(path, name), skip));
}

const outputs = mtimes(join(workspace, 'dist'));
const inputs = [
  ...mtimes(workspace, new Set(['dist', 'node_modules'])),
  ...extraInputs.flatMap((p) => mtimes(p)),
];
if (outputs.length > 0 && Math.min(...outputs) > Math.max(...inputs)) {
  console.log(`${workspace}: up to date, not rebuilt`);
  process.exit(0);
}
const build = spawnSync('npm', ['run', 'build'], { cwd: workspace, stdio: 'inherit' });
process.exit(build.status ?? 1);
