/**
 * `npm run bench:capacity`: sessions per core. The server (bench/capacityServer.ts) runs in its
 * own process pinned to core 0, the load generator (bench/capacityLoad.ts: N real werift
 * receivers, ICE + DTLS + SRTP on loopback) pinned to core 1. For N stepping up, both warm up, then
 * measure: server CPU, event-loop delay, RSS, frames sent more than 10 ms late, and what the
 * receivers got (packets, frames, missing packets, missed frames, SRTP authenticated on a sample).
 * "Sustained" = the largest N with fewer than 1% late frames and no missed frames or packets.
 * The same run measures the baseline: one live libx264 encode per session into the same werift
 * send path. Output: JSON, then a line for docs/benchmarks.md.
 *
 *   npx tsx bench/capacity.ts [--warmup 10] [--measure 30] [--steps 10,20,40,80,160,320]
 *     [--baseline-steps 2,4,8,12,16] [--only avatar|baseline] [--prof-dir DIR]
 *
 * `SEND_SLICES=k` in the environment sets the avatar server's `sendSlices` (SessionRegistry.ts);
 * `SERVER_NODE_ARGS='--max-semi-space-size=32'` passes Node flags to the server process.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { machine } from './stats.js';

type Message = { type: string; [key: string]: unknown };

export type CapacityOptions = {
  warmupS?: number;
  measureS?: number;
  steps?: number[];
  baselineSteps?: number[];
  only?: 'avatar' | 'baseline';
  profDir?: string;
};

const RAW_FILE = '/tmp/avatar-capacity-512x512-25.yuv';

/** A child process speaking our small IPC protocol: send a command, await the reply of a type. */
function child(script: string, args: string[], core: number | undefined, nodeArgs: string[] = []) {
  const node = [...nodeArgs, '--import', 'tsx', script, ...args];
  const proc: ChildProcess =
    core === undefined
      ? spawn(process.execPath, node, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : spawn('taskset', ['-c', String(core), process.execPath, ...node], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
  const waiting = new Map<string, (m: Message) => void>();
  proc.on('message', (m: Message) => {
    waiting.get(m.type)?.(m);
    waiting.delete(m.type);
  });
  const next = (type: string, timeoutMs = 600_000) =>
    new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no ${type} reply`)), timeoutMs);
      waiting.set(type, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
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

async function runMode(
  mode: 'avatar' | 'baseline',
  steps: number[],
  o: Required<Omit<CapacityOptions, 'only' | 'profDir'>> & { profDir?: string | undefined },
) {
  const twoCores = availableParallelism() >= 2;
  const profArgs = [
    ...(o.profDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profDir}`] : []),
    ...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
  const server = child(
    'bench/capacityServer.ts',
    [mode, RAW_FILE],
    twoCores ? 0 : undefined,
    profArgs,
  );
  const load = child('bench/capacityLoad.ts', [], twoCores ? 1 : undefined);
  const [ready] = await Promise.all([server.next('ready'), load.next('ready')]);
  const url = ready.url as string;
  const results = [];
  let sustained = 0;
  let open = 0;
  try {
    for (const n of steps) {
      const opened = await load.ask({ cmd: 'open', url, count: n - open }, 'opened');
      open = opened.opened as number;
      await sleep(o.warmupS);
      await Promise.all([
        server.ask({ cmd: 'reset' }, 'reset'),
        load.ask({ cmd: 'reset' }, 'reset'),
      ]);
      await sleep(o.measureS);
      const [s, r] = await Promise.all([
        server.ask({ cmd: 'stats' }, 'stats'),
        load.ask({ cmd: 'report' }, 'report'),
      ]);
      const server_ = s.stats as Record<string, number>;
      const recv = r.report as Record<string, number>;
      const expectedFrames = Math.round(o.measureS * 25 * n);
      // Avatar: late = frames the server sent > 10 ms after they were due (tick due time + the
      // offset of the session's send slice). Baseline (no tick):
      // frames that reached the receiver > 10 ms behind the stream's own schedule — reported, not
      // required (x264's output timing jitters by more than that even unloaded), so the baseline
      // passes as long as every encoder keeps up with real time: a bound in its favour.
      const lateFraction =
        mode === 'avatar' ? server_.lateFraction! : recv.lateFrames! / Math.max(1, recv.frames!);
      const ok =
        opened.failed === 0 &&
        recv.receivers === n &&
        recv.receiversWithoutPackets === 0 &&
        (mode === 'baseline' || lateFraction < 0.01) &&
        recv.missedFrames === 0 &&
        recv.missingPackets === 0 &&
        recv.frames! >= 0.99 * expectedFrames &&
        recv.authFailed === 0 &&
        recv.authenticated! > 0;
      const step = {
        sessions: n,
        ok,
        connect: { ms: opened.ms, failed: opened.failed, errors: opened.errors },
        server: server_,
        cpuPerSessionPct: +(((server_.serverCpu! + (server_.encoderCpu ?? 0)) * 100) / n).toFixed(
          3,
        ),
        lateFraction: +lateFraction.toFixed(5),
        receivers: { ...recv, expectedFrames },
      };
      results.push(step);
      console.error(
        `[capacity] ${mode} N=${n} ${ok ? 'OK ' : 'FAIL'} cpu=${(100 * server_.serverCpu!).toFixed(1)}%` +
          `${mode === 'baseline' ? `+enc ${(100 * server_.encoderCpu!).toFixed(1)}%` : ''}` +
          ` late=${(100 * lateFraction).toFixed(2)}% frames=${recv.frames}/${expectedFrames}` +
          ` missedFrames=${recv.missedFrames} missingPkts=${recv.missingPackets}` +
          ` auth=${recv.authenticated}/${recv.sampled} eld.p99=${server_.eventLoopDelayMs && (server_.eventLoopDelayMs as unknown as { p99: number }).p99}ms rss=${server_.rssMB}MB`,
      );
      if (!ok) break;
      sustained = n;
    }
  } finally {
    await load.ask({ cmd: 'close' }, 'closed').catch(() => {});
    await Promise.all([load.exit(), server.exit()]);
  }
  // RSS growth per added session between the first and the last passing step.
  const passing = results.filter((r) => r.ok);
  const first = passing[0];
  const last = passing[passing.length - 1];
  const rssPerSessionKB =
    first && last && last.sessions > first.sessions
      ? Math.round(
          ((last.server.rssMB! - first.server.rssMB!) * 1000) / (last.sessions - first.sessions),
        )
      : null;
  return { mode, sustained, rssPerSessionKB, steps: results };
}

export async function benchCapacity(opts: CapacityOptions = {}) {
  const o = {
    warmupS: opts.warmupS ?? 10,
    measureS: opts.measureS ?? 30,
    steps: opts.steps ?? [10, 20, 40, 80, 160, 320, 640],
    baselineSteps: opts.baselineSteps ?? [2, 4, 8, 12, 16, 24],
    profDir: opts.profDir,
  };
  const cores = availableParallelism();
  const avatar = opts.only === 'baseline' ? null : await runMode('avatar', o.steps, o);
  let baseline = null;
  if (opts.only !== 'avatar') {
    prepareRaw();
    baseline = await runMode('baseline', o.baselineSteps, o);
  }
  // The server (and in the baseline its encoders) ran on one core: sustained N is per core.
  const perCore = { avatar: avatar?.sustained ?? null, baseline: baseline?.sustained ?? null };
  const ratio =
    perCore.avatar && perCore.baseline ? +(perCore.avatar / perCore.baseline).toFixed(1) : null;
  const command = `npm run bench:capacity -- --warmup ${o.warmupS} --measure ${o.measureS}`;
  const line =
    `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC | \`${command}\` | ` +
    `${perCore.avatar ?? '–'} sessions/core | baseline (x264 per session) ${perCore.baseline ?? '–'}/core | ` +
    `${ratio ?? '–'}× | ${avatar?.rssPerSessionKB ?? '–'} KB RSS/session |`;
  return {
    benchmark: 'capacity',
    machine: { ...machine(), cores, pinned: cores >= 2 ? 'server core 0, load core 1' : 'none' },
    command,
    settings: { size: 512, fps: 25, bitrateKbps: 1500, warmupS: o.warmupS, measureS: o.measureS },
    sessionsPerCore: perCore,
    ratio,
    avatar,
    baseline,
    line,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      warmup: { type: 'string' },
      measure: { type: 'string' },
      steps: { type: 'string' },
      'baseline-steps': { type: 'string' },
      only: { type: 'string' },
      'prof-dir': { type: 'string' },
    },
  });
  const list = (s: string | undefined) => s?.split(',').map(Number);
  const result = await benchCapacity({
    ...(values.warmup ? { warmupS: Number(values.warmup) } : {}),
    ...(values.measure ? { measureS: Number(values.measure) } : {}),
    ...(values.steps ? { steps: list(values.steps)! } : {}),
    ...(values['baseline-steps'] ? { baselineSteps: list(values['baseline-steps'])! } : {}),
    ...(values.only ? { only: values.only as 'avatar' | 'baseline' } : {}),
    ...(values['prof-dir'] ? { profDir: values['prof-dir'] } : {}),
  });
  console.log(JSON.stringify(result, null, 2));
  console.log(result.line);
  process.exit(0);
}
