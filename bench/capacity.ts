/**
 * `npm run bench:capacity`: sessions per core. The server (bench/capacityServer.ts) runs in its
 * own process pinned to core 0, the load generator (bench/capacityLoad.ts: N real werift
 * receivers, ICE + DTLS + SRTP on loopback) pinned to core 1. For N stepping up, both warm up, then
 * measure: server CPU, event-loop delay, GC pauses, RSS, frames sent more than 10 ms late, and
 * what the receivers got (packets, frames, missing packets, missed frames, SRTP authenticated on a
 * sample). Then the churn phase: while the N stream, sessions join and leave at a steady rate
 * (full WHEP + ICE + DTLS, a few seconds of streaming, DELETE); the same figures for the streaming
 * sessions, and the joiners' time to first packet. "Sustained" = the largest N with fewer than 1%
 * late frames and no missed frames or packets, in the measure phase and in the churn phase.
 * The same run measures the baseline: one live libx264 encode per session into the same werift
 * send path. Output: a table per run, a summary, the full figures as JSON in a file.
 *
 *   npx tsx bench/capacity.ts [--warmup 10] [--measure 30] [--steps 10,20,40,80,160,320,640]
 *     [--churn 2] [--churn-seconds <measure>] [--churn-stream 3]
 *     [--workers 1|K|auto] [--server-cores LIST] [--load-cores LIST] [--load-procs 1]
 *     [--runs 1] [--keep-going] [--baseline-steps 2,4,8,12,16,24] [--only avatar|baseline]
 *     [--server-config key=value]... [--server-node-args='--flag ...'] [--prof-dir DIR] [--json FILE]
 *     [--audio off|silent|speaking]
 *
 * `--audio silent`: every viewer's offer receives Opus too (the session has a voice, which sends
 * nothing while silent); `--audio speaking`: and every session is spoken to all along, PCM
 * streamed in real time over HTTP (capacityLoad.ts), so each sends 50 Opus packets a second.
 *
 * Environment: AVATAR_* variables reach the avatar server as they reach `avatar-server serve`;
 * `SEND_SLICES=k` sets `sendSlices`; `SERVER_NODE_ARGS='--max-semi-space-size=4'` adds Node flags
 * to the server process (as `--server-node-args` does). See docs/benchmarks.md, "Capacity".
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { coerceSetting, setPath, settingKeys } from '../packages/server/src/config/keys.js';
import { machine } from './stats.js';

type Message = { type: string; [key: string]: unknown };
// biome-ignore lint/suspicious/noExplicitAny: figures are JSON from the children (IPC)
type Figures = Record<string, any>;

export type CapacityOptions = {
  warmupS?: number;
  measureS?: number;
  steps?: number[];
  baselineSteps?: number[];
  only?: 'avatar' | 'baseline';
  profDir?: string;
  /** Sessions joining (and leaving) per second in the churn phase; 0: no churn phase. */
  churnRate?: number;
  /** Length of the churn phase (joins happen over this time); default: the measure time. */
  churnS?: number;
  /** Seconds each joining session streams before its DELETE. */
  churnStreamS?: number;
  /** Media workers of the server: 1 (the per-core figure), a number, or `auto` (one per core). */
  workers?: number | 'auto';
  /** `taskset` CPU lists; default: server core 0 and load core 1 with one worker, else unpinned. */
  serverCores?: string;
  loadCores?: string;
  /** Load generator processes (one JS thread each); sessions are spread over them. */
  loadProcs?: number;
  /** Whole stepping runs, one after the other (the goal is stated over three in a row). */
  runs?: number;
  /** Server settings set for this run (`--server-config key=value`), as config paths. */
  serverConfig?: Record<string, unknown>;
  /** Node flags for the server process (with SERVER_NODE_ARGS). */
  serverNodeArgs?: string[];
  /** Go on stepping after a failing step (sustained is still the last N before the first failure). */
  keepGoing?: boolean;
  /** Sessions with a voice track (`silent`), and spoken to all along (`speaking`). */
  audio?: 'off' | 'silent' | 'speaking';
};

type Settings = Required<
  Omit<CapacityOptions, 'only' | 'profDir' | 'serverCores' | 'loadCores' | 'serverConfig'>
> & {
  profDir: string | undefined;
  serverCores: string | undefined;
  loadCores: string | undefined;
  serverConfig: Record<string, unknown>;
};

const RAW_FILE = '/tmp/avatar-capacity-512x512-25.yuv';
const FPS = 25;
const LATE_LIMIT = 0.01;

/** A child process speaking our small IPC protocol: send a command, await the reply of a type. */
function child(script: string, args: string[], cores: string | undefined, nodeArgs: string[] = []) {
  const node = [...nodeArgs, '--import', 'tsx', script, ...args];
  const proc: ChildProcess =
    cores === undefined
      ? spawn(process.execPath, node, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : spawn('taskset', ['-c', cores, process.execPath, ...node], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
  const waiting = new Map<string, { ok: (m: Message) => void; fail: (err: Error) => void }>();
  proc.on('message', (m: Message) => {
    waiting.get(m.type)?.ok(m);
    waiting.delete(m.type);
  });
  proc.on('exit', (code) => {
    for (const [type, w] of waiting) w.fail(new Error(`${script} exited (${code}) before ${type}`));
    waiting.clear();
  });
  const next = (type: string, timeoutMs = 600_000) =>
    new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no ${type} reply`)), timeoutMs);
      const settle =
        <T>(then: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          then(value);
        };
      waiting.set(type, { ok: settle(resolve), fail: settle(reject) });
    });
  return {
    proc,
    next,
    ask(cmd: Record<string, unknown>, reply: string) {
      const answer = next(reply);
      proc.send(cmd);
      return answer;
    },
    exit: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        proc.send({ cmd: 'exit' });
      }),
  };
}

/** Raw 512×512 25 fps frames of the default avatar's idle clip, for the baseline encoders. */
function prepareRaw() {
  if (existsSync(RAW_FILE)) return;
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-i', 'videos/default/idle.mp4'],
    ...['-vf', 'scale=512:512:force_original_aspect_ratio=increase,crop=512:512,fps=25'],
    ...['-pix_fmt', 'yuv420p', '-f', 'rawvideo', RAW_FILE],
  ]);
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** `0-3,6` → {0,1,2,3,6} (taskset's list syntax). */
export function cpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`'${list}' is not a CPU list (e.g. 0-3,6)`);
    const [low, high] = [Number(m[1]), Number(m[2] ?? m[1])];
    for (let c = low; c <= high; c++) out.push(c);
  }
  return out;
}

/**
 * Where the server and the load generators run. A capacity figure needs them on separate cores;
 * otherwise (a machine too small to spare cores for the load) the run checks correctness only.
 */
function placement(s: Settings) {
  const cores = availableParallelism();
  const oneWorker = s.workers === 1;
  const server = s.serverCores ?? (oneWorker && cores >= 2 ? '0' : undefined);
  const load = s.loadCores ?? (oneWorker && cores >= 2 ? '1' : undefined);
  const serverSet = server === undefined ? undefined : new Set(cpuList(server));
  const loadList = load === undefined ? undefined : cpuList(load);
  const separate = serverSet !== undefined && loadList?.every((c) => !serverSet.has(c)) === true;
  // One process: the whole list; several: one CPU each, round robin.
  const loadCoresOf = (i: number) =>
    loadList === undefined
      ? undefined
      : s.loadProcs === 1
        ? load
        : String(loadList[i % loadList.length]);
  const workers = s.workers === 'auto' ? (serverSet?.size ?? cores) : s.workers; // Node's `auto` = usable CPUs
  return { cores, server, load, separate, loadCoresOf, workers };
}

function sumReports(reports: Figures[]): Figures {
  const total: Figures = {};
  for (const r of reports) {
    for (const [key, value] of Object.entries(r)) {
      if (typeof value === 'number') total[key] = (total[key] ?? 0) + value;
      else if (typeof value === 'boolean') total[key] = Boolean(total[key]) || value;
    }
  }
  return total;
}

/** What the streaming receivers' figures fail of a step's requirements (empty: they pass). */
function receiverFailures(
  recv: Figures,
  n: number,
  expectedFrames: number,
  expectedAudio = 0,
): string[] {
  return [
    recv.audioPackets < 0.95 * expectedAudio
      ? `audio packets ${recv.audioPackets}/${expectedAudio}`
      : '',
    recv.speakFailed > 0 ? `${recv.speakFailed} utterances failed` : '',
    recv.receivers !== n ? `receivers ${recv.receivers}/${n}` : '',
    recv.receiversWithoutPackets > 0 ? `${recv.receiversWithoutPackets} got nothing` : '',
    recv.missedFrames > 0 ? 'missed frames' : '',
    recv.missingPackets > 0 ? 'missing packets' : '',
    recv.frames < 0.99 * expectedFrames ? `frames ${recv.frames}/${expectedFrames}` : '',
    recv.authFailed > 0 || !(recv.authenticated > 0) ? 'SRTP auth' : '',
  ].filter(Boolean);
}

/** The server's session count vs N: sessions the server ended on its own show here. */
const sessionFailure = (server: Figures, n: number) =>
  server.sessions !== undefined && server.sessions < n
    ? `server holds ${server.sessions}/${n}`
    : '';

async function runMode(mode: 'avatar' | 'baseline', steps: number[], s: Settings, run: number) {
  const place = placement(s);
  const nodeArgs = [
    ...(s.profDir ? ['--cpu-prof', `--cpu-prof-dir=${s.profDir}`] : []),
    ...s.serverNodeArgs,
  ];
  const serverArgs = [
    mode,
    RAW_FILE,
    JSON.stringify({ workers: s.workers, config: s.serverConfig }),
  ];
  const server = child('bench/capacityServer.ts', serverArgs, place.server, nodeArgs);
  const loads = Array.from({ length: s.loadProcs }, (_, i) =>
    child('bench/capacityLoad.ts', [], place.loadCoresOf(i)),
  );
  const [ready] = await Promise.all([server.next('ready'), ...loads.map((l) => l.next('ready'))]);
  const url = ready!.url as string;
  const applied = (ready!.applied ?? {}) as Record<string, unknown>;
  const churn = mode === 'avatar' && s.churnRate > 0;
  const audio = mode === 'avatar' && s.audio !== 'off';
  // On a machine without spare cores, several workers are checked for correctness only.
  const correctnessOnly = mode === 'avatar' && place.workers > 1 && !place.separate;
  const results: Figures[] = [];
  let sustained = 0;
  let open = 0;
  // One session per worker, opened and ended before the first step: the first step then measures
  // streaming, not a fresh worker loading its WebRTC code. (Not in the baseline: its minimal
  // WHEP server has no DELETE, and no workers to warm.)
  const prewarm =
    mode === 'avatar'
      ? await loads[0]!.ask({ cmd: 'open', url, count: place.workers, audio }, 'opened')
      : { ms: 0, failed: 0, errors: [] };
  if (mode === 'avatar') await loads[0]!.ask({ cmd: 'close' }, 'closed');
  if ((prewarm.failed as number) > 0) {
    console.error(
      `[capacity] ${mode}: pre-warm session failed: ${(prewarm.errors as string[]).join('; ')}`,
    );
  }
  const window = async (seconds: number, during?: () => Promise<Message>) => {
    await Promise.all([
      server.ask({ cmd: 'reset' }, 'reset'),
      ...loads.map((l) => l.ask({ cmd: 'reset' }, 'reset')),
    ]);
    const started = performance.now();
    let extra: Message | undefined;
    if (during) extra = await during();
    else await sleep(seconds);
    const elapsedS = (performance.now() - started) / 1000;
    const [st, ...reports] = await Promise.all([
      server.ask({ cmd: 'stats' }, 'stats'),
      ...loads.map((l) => l.ask({ cmd: 'report' }, 'report')),
    ]);
    const recv = sumReports(reports.map((r) => r.report as Figures));
    return { server: st!.stats as Figures, recv, elapsedS, extra };
  };
  try {
    for (const n of steps) {
      // New sessions spread over the load generators, all at once.
      const add = n - open;
      const opened = await Promise.all(
        loads.map((l, i) =>
          l.ask(
            {
              cmd: 'open',
              url,
              count: Math.floor(add / loads.length) + (i < add % loads.length ? 1 : 0),
              audio,
            },
            'opened',
          ),
        ),
      );
      if (mode === 'avatar' && s.audio === 'speaking') {
        await Promise.all(loads.map((l) => l.ask({ cmd: 'speak' }, 'speaking')));
      }
      open = opened.reduce((k, o) => k + (o.opened as number), 0);
      const failed = opened.reduce((k, o) => k + (o.failed as number), 0);
      await sleep(s.warmupS);
      const m = await window(s.measureS);
      const expectedFrames = Math.round(m.elapsedS * FPS * n);
      // Avatar: late = frames the server sent > 10 ms after they were due (tick due time + the
      // offset of the session's send slice). Baseline (no tick): frames that reached the receiver
      // > 10 ms behind the stream's own schedule — reported, not required (x264's output timing
      // jitters by more than that even unloaded), so the baseline passes as long as every
      // encoder keeps up with real time: a bound in its favour.
      const lateFraction =
        mode === 'avatar' ? m.server.lateFraction : m.recv.lateFrames / Math.max(1, m.recv.frames);
      const perWorker = (m.server.perWorker as Figures[] | undefined) ?? [];
      const counts = perWorker.map((w) => w.sessions as number);
      const spread =
        counts.length > 1 &&
        Math.min(...counts) > 0 &&
        Math.max(...counts) - Math.min(...counts) <= 1;
      const measureFailures = [
        failed > 0 ? `${failed} connects failed` : '',
        sessionFailure(m.server, n),
        ...receiverFailures(
          m.recv,
          n,
          expectedFrames,
          s.audio === 'speaking' ? Math.round(m.elapsedS * 50 * n) : 0,
        ),
        mode === 'avatar' && !correctnessOnly && !(lateFraction < LATE_LIMIT) ? 'late' : '',
        correctnessOnly && !spread ? `spread ${counts.join('+')}` : '',
      ].filter(Boolean);
      const measureOk = measureFailures.length === 0;
      let churnPhase: Figures | undefined;
      if (churn) {
        const c = await window(s.churnS, () =>
          loads[0]!.ask(
            {
              cmd: 'churn',
              url,
              rate: s.churnRate,
              durationS: s.churnS,
              streamS: s.churnStreamS,
              audio,
            },
            'churned',
          ),
        );
        const joiners = c.extra!.churn as Figures;
        const cExpected = Math.round(c.elapsedS * FPS * n);
        // The server's count includes joiners still streaming: at least N.
        const churnFailures = [
          sessionFailure(c.server, n),
          ...receiverFailures(c.recv, n, cExpected),
          !correctnessOnly && !(c.server.lateFraction < LATE_LIMIT) ? 'late' : '',
          joiners.failed > 0 ? `${joiners.failed} joins failed` : '',
          joiners.deleteFailed > 0 ? `${joiners.deleteFailed} DELETEs failed` : '',
          joiners.joinersWithoutFrames > 0
            ? `${joiners.joinersWithoutFrames} joiners got nothing`
            : '',
        ].filter(Boolean);
        churnPhase = {
          ok: churnFailures.length === 0,
          failures: churnFailures,
          seconds: +c.elapsedS.toFixed(1),
          lateFraction: c.server.lateFraction,
          server: c.server,
          receivers: { ...c.recv, expectedFrames: cExpected },
          joiners,
        };
      }
      const first = results[0];
      const perSession = (now: number, then: number | undefined) =>
        first && then !== undefined && n > first.sessions
          ? Math.round(((now - then) * 1000) / (n - first.sessions))
          : null;
      const step: Figures = {
        sessions: n,
        ok: measureOk && (churnPhase?.ok ?? true),
        measureOk,
        failures: measureFailures,
        connect: {
          ms: Math.max(...opened.map((o) => o.ms as number)),
          failed,
          errors: opened.flatMap((o) => o.errors as string[]),
        },
        server: m.server,
        cpuPerSessionPct: +(((m.server.serverCpu + (m.server.encoderCpu ?? 0)) * 100) / n).toFixed(
          3,
        ),
        lateFraction: +lateFraction.toFixed(5),
        receivers: { ...m.recv, expectedFrames },
        // Growth since the first step, per added session (KB): the process, the front's heap,
        // the workers' heaps.
        memoryPerSessionKB: {
          rss: perSession(m.server.rssMB, first?.server.rssMB),
          frontHeap: perSession(m.server.heapUsedMB, first?.server.heapUsedMB),
          workerHeap: perSession(m.server.workerHeapUsedMB, first?.server.workerHeapUsedMB),
        },
        ...(churnPhase ? { churn: churnPhase } : {}),
      };
      results.push(step);
      console.error(progressLine(mode, step));
      if (!step.ok && !s.keepGoing) break;
      if (results.every((r) => r.ok)) sustained = n;
    }
  } finally {
    await Promise.all(loads.map((l) => l.ask({ cmd: 'close' }, 'closed').catch(() => {})));
    await Promise.all([...loads.map((l) => l.exit()), server.exit()]);
  }
  const out = {
    mode,
    run,
    sustained,
    // As the server resolved it (`auto`: the CPUs it may use).
    workers: mode === 'avatar' ? (results[0]?.server.workerCount ?? place.workers) : null,
    correctnessOnly,
    placement: { server: place.server ?? 'any', load: place.load ?? 'any' },
    serverSettings: applied,
    prewarm: { ms: prewarm.ms, failed: prewarm.failed, errors: prewarm.errors },
    steps: results,
  };
  console.log(table(out, s));
  return out;
}

function progressLine(mode: string, step: Figures) {
  const sv = step.server;
  const r = step.receivers;
  const c = step.churn;
  return (
    `[capacity] ${mode} N=${step.sessions} ${step.measureOk ? 'OK ' : `FAIL (${step.failures.join(', ')})`} cpu=${(100 * sv.serverCpu).toFixed(1)}%` +
    `${mode === 'baseline' ? `+enc ${(100 * sv.encoderCpu).toFixed(1)}%` : ''}` +
    ` late=${(100 * step.lateFraction).toFixed(2)}% frames=${r.frames}/${r.expectedFrames}` +
    ` missedFrames=${r.missedFrames} missingPkts=${r.missingPackets}` +
    ` eld.p99=${sv.eventLoopDelayMs?.p99}ms rss=${sv.rssMB}MB` +
    (c
      ? ` | churn ${c.ok ? 'OK' : `FAIL (${c.failures.join(', ')})`} late=${(100 * c.lateFraction).toFixed(2)}%` +
        ` missed=${c.receivers.missedFrames} joined=${c.joiners.joined}/${c.joiners.attempted}` +
        ` ttfp.p95=${c.joiners.ttfpMs.p95 ?? '–'}ms`
      : '')
  );
}

const pct = (x: number | undefined, digits = 2) =>
  x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(digits)}%`;
const num = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
const loop = (e: Figures | undefined) => (e ? `${num(e.p99)}/${num(e.max)}` : '–');
const gcText = (g: Figures | undefined) =>
  g ? `${g.count}/${g.over10ms}/${num(g.maxMs, 1)}` : '–';

/** Columns padded to their widest cell. */
function render(head: string[], rows: string[][]) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** One table per run: a row per step (and per worker when there are several), churn on the right. */
function table(out: Figures, s: Settings) {
  const avatar = out.mode === 'avatar';
  const title =
    `\n== run ${out.run}/${s.runs} · ${out.mode}` +
    (avatar ? ` · ${out.workers} media worker${out.workers > 1 ? 's' : ''}` : '') +
    ` · server cores ${out.placement.server}, load cores ${out.placement.load}` +
    ` · warmup ${s.warmupS} s, measure ${s.measureS} s` +
    (avatar && s.churnRate > 0
      ? `, churn ${s.churnRate}/s for ${s.churnS} s (each joiner streams ${s.churnStreamS} s)`
      : '') +
    ' ==' +
    (Object.keys(out.serverSettings).length
      ? `\nserver settings: ${Object.entries(out.serverSettings)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ')}`
      : '') +
    (s.serverNodeArgs.length ? `\nserver node flags: ${s.serverNodeArgs.join(' ')}` : '');
  const head = [
    'N',
    'result',
    'CPU',
    'CPU/sess',
    'late>10ms',
    'missed f/p',
    'loop p99/max ms',
    'GC n/>10ms/max',
    'RSS MB',
    'KB/sess rss|front|workers',
  ];
  const churnHead = [
    '| churn',
    'late>10ms',
    'missed f/p',
    'loop max',
    'GC n/>10ms/max',
    'TTFP p50/p95 ms',
    'joined/tried',
  ];
  const rows: string[][] = [];
  for (const st of out.steps as Figures[]) {
    const sv = st.server;
    const r = st.receivers;
    const mem = st.memoryPerSessionKB;
    const c = st.churn;
    rows.push([
      String(st.sessions),
      st.measureOk ? 'ok' : 'FAIL',
      `${num(100 * (sv.serverCpu + (sv.encoderCpu ?? 0)), 1)}%`,
      `${num(st.cpuPerSessionPct, 2)}%`,
      pct(st.lateFraction),
      `${r.missedFrames}/${r.missingPackets}`,
      loop(sv.eventLoopDelayMs),
      gcText(sv.gc),
      num(sv.rssMB, 1),
      `${num(mem.rss)}|${num(mem.frontHeap)}|${num(mem.workerHeap)}`,
      ...(c
        ? [
            c.ok ? '| ok' : '| FAIL',
            pct(c.lateFraction),
            `${c.receivers.missedFrames}/${c.receivers.missingPackets}`,
            num(c.server.eventLoopDelayMs?.max),
            gcText(c.server.gc),
            `${num(c.joiners.ttfpMs.p50)}/${num(c.joiners.ttfpMs.p95)}`,
            `${c.joiners.joined}/${c.joiners.attempted}`,
          ]
        : []),
    ]);
    const workers = (sv.perWorker as Figures[] | undefined) ?? [];
    if (workers.length > 1) {
      for (const w of workers) {
        const cw = (c?.server.perWorker as Figures[] | undefined)?.find((x) => x.index === w.index);
        rows.push([
          `w${w.index}`,
          `${w.sessions} sess${w.restarts ? `, ${w.restarts} restarts` : ''}`,
          '',
          '',
          pct(w.lateFraction),
          '',
          loop(w.eventLoopDelayMs),
          gcText(w.gc),
          '',
          `heap ${num(w.heapUsedMB, 1)} MB`,
          ...(cw
            ? ['|', pct(cw.lateFraction), '', num(cw.eventLoopDelayMs?.max), gcText(cw.gc), '', '']
            : []),
        ]);
      }
    }
  }
  const anyChurn = (out.steps as Figures[]).some((st) => st.churn);
  const why = (out.steps as Figures[])
    .filter((st) => !st.ok)
    .map(
      (st) =>
        `N=${st.sessions} fails: ${[
          ...st.failures,
          ...(st.churn?.failures ?? []).map((f: string) => `churn: ${f}`),
        ].join(', ')}`,
    );
  const text = [render(anyChurn ? [...head, ...churnHead] : head, rows), ...why].join('\n');
  const verdict = out.correctnessOnly
    ? `correctness run (the load generator shares the server's cores): every step checks that the sessions are spread over all ${out.workers} workers and every frame arrives; late frames are shown, not judged. Largest N passing: ${out.sustained}`
    : `sustained: ${out.sustained} sessions${avatar ? (out.workers > 1 ? ` on ${out.workers} workers (${num(out.sustained / out.workers, 1)} per worker)` : ' on one worker (one core)') : ' (baseline, one core)'}`;
  return `${title}\n${text}\n${verdict}`;
}

/**
 * The machine figure on a bigger host. The load generator receives every packet in JavaScript, so
 * it needs about one core per server core at the goal: on one host, half the cores each (the
 * figure is then that of a machine with half the cores), one load process per load core.
 */
function biggerMachineCommand(s: Settings) {
  return (
    `npm run bench:capacity -- --workers auto --server-cores 0-15 --load-cores 16-31 --load-procs 16 ` +
    `--warmup ${s.warmupS} --measure ${s.measureS} --steps 1600,3200,4800 --only avatar --runs 3` +
    '\n  (a 32-core host: the server on 16 cores, 16 load generators on the others; steps = 100, 200, 300 sessions × 16 workers)'
  );
}

export async function benchCapacity(opts: CapacityOptions = {}) {
  const measureS = opts.measureS ?? 30;
  const s: Settings = {
    warmupS: opts.warmupS ?? 10,
    measureS,
    steps: opts.steps ?? [10, 20, 40, 80, 160, 320, 640],
    baselineSteps: opts.baselineSteps ?? [2, 4, 8, 12, 16, 24],
    profDir: opts.profDir,
    churnRate: opts.churnRate ?? 2,
    churnS: opts.churnS ?? measureS,
    churnStreamS: opts.churnStreamS ?? 3,
    workers: opts.workers ?? 1,
    serverCores: opts.serverCores,
    loadCores: opts.loadCores,
    loadProcs: opts.loadProcs ?? 1,
    runs: opts.runs ?? 1,
    serverConfig: opts.serverConfig ?? {},
    serverNodeArgs: [
      ...(opts.serverNodeArgs ?? []),
      ...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    keepGoing: opts.keepGoing ?? false,
    audio: opts.audio ?? 'off',
  };
  const place = placement(s);
  if (opts.only !== 'avatar') prepareRaw();
  const runs = [];
  for (let run = 1; run <= s.runs; run++) {
    const avatar = opts.only === 'baseline' ? null : await runMode('avatar', s.steps, s, run);
    const baseline =
      opts.only === 'avatar' ? null : await runMode('baseline', s.baselineSteps, s, run);
    // The baseline (and its encoders) ran on one core: its sustained N is per core.
    const perCore = avatar?.workers ? avatar.sustained / avatar.workers : null;
    const ratio =
      perCore !== null && baseline?.sustained ? +(perCore / baseline.sustained).toFixed(1) : null;
    runs.push({ run, avatar, baseline, sustainedPerCore: perCore, ratio });
  }
  const correctnessOnly = runs.some((r) => r.avatar?.correctnessOnly);
  const perCore = runs.map((r) => r.sustainedPerCore).filter((x): x is number => x !== null);
  const ratios = runs.map((r) => r.ratio).filter((x): x is number => x !== null);
  const minimum = perCore.length ? Math.min(...perCore) : null;
  const minRatio = ratios.length ? Math.min(...ratios) : null;
  const rss = runs
    .map((r) => r.avatar?.steps.filter((st) => st.ok).at(-1)?.memoryPerSessionKB.rss)
    .filter((x): x is number => typeof x === 'number');
  const flags = [
    `--warmup ${s.warmupS} --measure ${s.measureS}`,
    opts.steps ? `--steps ${s.steps.join(',')}` : '',
    s.churnRate !== 2 ? `--churn ${s.churnRate}` : '',
    s.churnRate > 0 && s.churnS !== s.measureS ? `--churn-seconds ${s.churnS}` : '',
    s.churnRate > 0 && s.churnStreamS !== 3 ? `--churn-stream ${s.churnStreamS}` : '',
    s.workers !== 1 ? `--workers ${s.workers}` : '',
    s.serverCores ? `--server-cores ${s.serverCores}` : '',
    s.loadCores ? `--load-cores ${s.loadCores}` : '',
    s.loadProcs !== 1 ? `--load-procs ${s.loadProcs}` : '',
    s.runs !== 1 ? `--runs ${s.runs}` : '',
    s.audio !== 'off' ? `--audio ${s.audio}` : '',
    opts.only ? `--only ${opts.only}` : '',
    opts.only !== 'avatar' && opts.baselineSteps
      ? `--baseline-steps ${s.baselineSteps.join(',')}`
      : '',
    s.serverNodeArgs.length ? `--server-node-args '${s.serverNodeArgs.join(' ')}'` : '',
    ...Object.entries(s.serverConfig).map(([k, v]) => `--server-config ${k}=${JSON.stringify(v)}`),
  ].filter(Boolean);
  const command = `npm run bench:capacity -- ${flags.join(' ')}`;
  const summary = [
    '',
    `== summary · ${command}`,
    ...(runs.some((r) => r.avatar)
      ? [
          correctnessOnly
            ? `machine figure: CORRECTNESS RUN ONLY on this ${place.cores}-core machine (${place.workers} workers; the load generator needs a core, so it shares the server's). Largest N passing per run: ${runs.map((r) => r.avatar?.sustained).join(', ')}. On a machine with C cores, the machine figure is:\n  ${biggerMachineCommand(s)}`
            : `sustained sessions per core, per run: ${perCore.join(', ')} → minimum ${minimum ?? '–'} (goal: ≥ 300 in three runs in a row)`,
        ]
      : []),
    ...(runs.some((r) => r.baseline)
      ? [
          `baseline (live x264 per session) sustained per run: ${runs.map((r) => r.baseline?.sustained ?? '–').join(', ')}` +
            (runs.some((r) => r.avatar)
              ? `; ratio (sustained per core ÷ baseline) per run: ${runs.map((r) => (r.ratio === null ? '–' : `${r.ratio}×`)).join(', ')} → minimum ${minRatio === null ? '–' : `${minRatio}×`} (goal ≥ 20×)`
              : ''),
        ]
      : []),
    ...(rss.length
      ? [`RSS per session (first step → last passing step): ${rss.join(', ')} KB`]
      : []),
  ].join('\n');
  console.log(summary);
  const line =
    `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC | \`${command}\` | ` +
    `${correctnessOnly ? 'correctness run' : `${perCore.join(', ')} sessions/core (min ${minimum ?? '–'})`} | ` +
    `baseline ${runs.map((r) => r.baseline?.sustained ?? '–').join(', ')}/core | ` +
    `${minRatio ?? '–'}× | ${rss.join(', ') || '–'} KB RSS/session |`;
  return {
    benchmark: 'capacity',
    machine: {
      ...machine(),
      cores: place.cores,
      pinned: `server ${place.server ?? 'any'}, load ${place.load ?? 'any'}`,
    },
    command,
    settings: { size: 512, fps: FPS, bitrateKbps: 1500, ...s },
    sessionsPerCore: perCore,
    minimumPerCore: minimum,
    ratio: minRatio,
    correctnessOnly,
    runs,
    line,
  };
}

/** `--server-config key=value`: a config path (`sendSlices`, `ice.portRange`) or its flag name. */
export function serverConfig(pairs: string[]): Record<string, unknown> {
  const keys = settingKeys();
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq) : '';
    const key = keys.find((k) => k.path.join('.') === name || k.flag === name || k.env === name);
    if (!key) {
      throw new Error(
        `--server-config ${pair}: ${eq > 0 ? `no server setting '${name}'` : 'expected key=value'} (settings: packages/server/src/config/schema.ts, e.g. sendSlices=2)`,
      );
    }
    setPath(out, key.path, coerceSetting(key, pair.slice(eq + 1), `--server-config ${name}`));
  }
  return out;
}

function parseCli(): CapacityOptions & { json: string | undefined } {
  const { values } = parseArgs({
    options: {
      warmup: { type: 'string' },
      measure: { type: 'string' },
      steps: { type: 'string' },
      'baseline-steps': { type: 'string' },
      only: { type: 'string' },
      'prof-dir': { type: 'string' },
      churn: { type: 'string' },
      'churn-seconds': { type: 'string' },
      'churn-stream': { type: 'string' },
      workers: { type: 'string' },
      'server-cores': { type: 'string' },
      'load-cores': { type: 'string' },
      'load-procs': { type: 'string' },
      runs: { type: 'string' },
      'server-config': { type: 'string', multiple: true },
      'server-node-args': { type: 'string' },
      json: { type: 'string' },
      'keep-going': { type: 'boolean' },
      audio: { type: 'string' },
    },
  });
  const number = (flag: string, min: number) => {
    const raw = values[flag as keyof typeof values] as string | undefined;
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new Error(`--${flag} ${raw}: expected a number ≥ ${min}`);
    }
    return n;
  };
  const list = (flag: string) => {
    const raw = values[flag as keyof typeof values] as string | undefined;
    if (raw === undefined) return undefined;
    const steps = raw.split(',').map(Number);
    if (steps.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new Error(`--${flag} ${raw}: expected session counts, e.g. 10,20,40`);
    }
    return steps;
  };
  if (values.only && values.only !== 'avatar' && values.only !== 'baseline') {
    throw new Error(`--only ${values.only}: expected avatar or baseline`);
  }
  if (values.audio && !['off', 'silent', 'speaking'].includes(values.audio)) {
    throw new Error(`--audio ${values.audio}: expected off, silent or speaking`);
  }
  const workers = values.workers === 'auto' ? ('auto' as const) : number('workers', 1);
  for (const flag of ['server-cores', 'load-cores'] as const) {
    if (values[flag] !== undefined) cpuList(values[flag]);
  }
  const opts: CapacityOptions = {};
  const set = <K extends keyof CapacityOptions>(key: K, value: CapacityOptions[K] | undefined) => {
    if (value !== undefined) opts[key] = value;
  };
  set('warmupS', number('warmup', 0));
  set('measureS', number('measure', 1));
  set('steps', list('steps'));
  set('baselineSteps', list('baseline-steps'));
  set('only', values.only as CapacityOptions['only']);
  set('profDir', values['prof-dir']);
  set('churnRate', number('churn', 0));
  set('churnS', number('churn-seconds', 1));
  set('churnStreamS', number('churn-stream', 0.5));
  set('workers', workers);
  set('serverCores', values['server-cores']);
  set('loadCores', values['load-cores']);
  set('loadProcs', number('load-procs', 1));
  set('runs', number('runs', 1));
  set('audio', values.audio as CapacityOptions['audio']);
  const config = serverConfig(values['server-config'] ?? []);
  // `workers` decides the placement too: one setting, whichever way it is given.
  if (config.workers !== undefined) {
    if (workers !== undefined && workers !== config.workers) {
      throw new Error(
        `--workers ${workers} and --server-config workers=${config.workers} disagree`,
      );
    }
    set('workers', config.workers as number | 'auto');
    delete config.workers;
  }
  set('serverConfig', config);
  set('serverNodeArgs', values['server-node-args']?.split(' ').filter(Boolean));
  set('keepGoing', values['keep-going']);
  return { ...opts, json: values.json };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli();
  } catch (err) {
    console.error(`bench:capacity: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`);
    process.exit(2);
  }
  const { json, ...opts } = cli;
  const result = await benchCapacity(opts);
  const file =
    json ?? `/tmp/avatar-capacity-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`full figures: ${file}`);
  console.log(result.line);
  process.exit(0);
}
