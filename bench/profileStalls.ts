/**
 * Where a thread's event loop stalls: reads a V8 CPU profile (`--cpu-prof`, e.g. the media
 * worker's from `npm run bench:capacity -- --prof-dir DIR`) and lists the longest stretches of
 * consecutive busy samples (not idle) — a stall of the loop is one such stretch — with what ran in
 * each: the functions with the most samples in it, and the task it ran under (the outermost
 * frames of its stacks). Then the whole profile's busiest functions, for comparison.
 *
 *   npx tsx bench/profileStalls.ts FILE.cpuprofile [--min-ms 15] [--top 10]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'min-ms': { type: 'string' }, top: { type: 'string' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: npx tsx bench/profileStalls.ts FILE.cpuprofile [--min-ms 15] [--top 10]');
  process.exit(2);
}
const minMs = Number(values['min-ms'] ?? 15);
const top = Number(values.top ?? 10);

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const name = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
const IDLE = new Set(['(idle)', '(program)', '(root)']);
const isIdle = (id: number) => IDLE.has(byId.get(id)!.callFrame.functionName);

/** The stack of a sample, outermost first, without the root. */
function stack(id: number): CallFrame[] {
  const frames: CallFrame[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const f = byId.get(at)!.callFrame;
    if (f.functionName !== '(root)') frames.unshift(f);
  }
  return frames;
}

type Stretch = { startMs: number; ms: number; samples: number[] };
const stretches: Stretch[] = [];
let t = 0;
let current: Stretch | undefined;
const total = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  const dt = (profile.timeDeltas[i] ?? 0) / 1000;
  t += dt;
  if (isIdle(id)) {
    if (current) stretches.push(current);
    current = undefined;
    continue;
  }
  const self = name(byId.get(id)!.callFrame);
  total.set(self, (total.get(self) ?? 0) + dt);
  current ??= { startMs: t - dt, ms: 0, samples: [] };
  current.ms += dt;
  current.samples.push(id);
}
if (current) stretches.push(current);

const count = <K>(keys: K[]) => {
  const m = new Map<K, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
};

const long = stretches.filter((s) => s.ms >= minMs).sort((a, b) => b.ms - a.ms);
const busyMs = [...total.values()].reduce((a, b) => a + b, 0);
console.log(
  `${file}: ${(t / 1000).toFixed(1)} s profiled, ${(busyMs / 1000).toFixed(1)} s busy; ` +
    `${long.length} busy stretches ≥ ${minMs} ms (the longest ${top} below)`,
);
for (const s of long.slice(0, top)) {
  console.log(`\n${s.ms.toFixed(1)} ms busy from ${(s.startMs / 1000).toFixed(3)} s:`);
  const selfs = count(s.samples.map((id) => name(byId.get(id)!.callFrame)));
  for (const [fn, n] of selfs.slice(0, 6)) {
    console.log(`  ${((100 * n) / s.samples.length).toFixed(0).padStart(3)} %  ${fn}`);
  }
  // The task: the outermost JavaScript frames (below Node's own event-loop frames).
  const tasks = count(
    s.samples.map((id) =>
      stack(id)
        .filter((f) => f.url !== '' && !f.url.startsWith('node:'))
        .slice(0, 2)
        .map(name)
        .join(' → '),
    ),
  );
  for (const [task, n] of tasks.slice(0, 3)) {
    console.log(`       under ${task || '(native)'} (${n} samples)`);
  }
}
console.log('\nbusiest functions in the whole profile (self time):');
for (const [fn, ms] of [...total].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(
    `  ${ms.toFixed(0).padStart(6)} ms ${((100 * ms) / busyMs).toFixed(1).padStart(5)} %  ${fn}`,
  );
}
