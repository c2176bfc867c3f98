/**
 * CPU per speaking stream of the two Opus encoders the server could use, encoding in real time
 * as a session does (one 20 ms frame of 48 kHz mono every 20 ms, 32 kbit/s):
 *   (a) ffmpeg's libopus, one child process per speaking session, PCM on its stdin;
 *   (b) opusscript (libopus 1.4 in WebAssembly) in the process, as the media worker does.
 * Each runs STREAMS streams at once for SECONDS; CPU is read from the kernel (/proc) for the
 * children and from process.cpuUsage() for the in-process encoder, and reported as % of one core
 * per stream. Then opusscript again at each encoder complexity of COMPLEXITIES (libopus's default
 * is 10; lower trades quality for CPU).
 * Usage: npx tsx bench/opusEncoders.ts [streams=4] [seconds=10] [complexities=10,5,3,0]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import OpusScript from 'opusscript';

const STREAMS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 10);
const COMPLEXITIES = (process.argv[4] ?? '10,5,3,0').split(',').map(Number);
/** libopus's OPUS_SET_COMPLEXITY request. */
const SET_COMPLEXITY = 4010;
const FRAME = 960; // 20 ms at 48 kHz
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** 20 ms of a voice-like signal: a 180 Hz tone with harmonics and a little noise. */
function frame(n: number): Buffer {
  const out = Buffer.alloc(FRAME * 2);
  for (let i = 0; i < FRAME; i++) {
    const t = (n * FRAME + i) / 48_000;
    const v =
      0.3 * Math.sin(2 * Math.PI * 180 * t) +
      0.15 * Math.sin(2 * Math.PI * 360 * t) +
      0.08 * Math.sin(2 * Math.PI * 720 * t) +
      0.02 * (Math.random() - 0.5);
    out.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  return out;
}

/** Five seconds of frames, made once and cycled: the signal's cost stays out of the figures. */
const FRAMES = Array.from({ length: 250 }, (_, n) => frame(n));
const frameAt = (n: number) => FRAMES[n % FRAMES.length]!;

/** Calls `each(n)` every 20 ms (drift-corrected) for SECONDS. */
function paced(each: (n: number) => void): Promise<void> {
  const frames = (SECONDS * 1000) / 20;
  const start = performance.now();
  return new Promise((resolve) => {
    let n = 0;
    const tick = () => {
      while (n < frames && start + n * 20 <= performance.now()) each(n++);
      if (n >= frames) return resolve();
      setTimeout(tick, start + n * 20 - performance.now());
    };
    tick();
  });
}

/** utime + stime of a process, in ms. */
function cpuOfPid(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

const ms = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function ffmpegLibopus(): Promise<{ perStreamPercent: number; bytes: number }> {
  const children = Array.from({ length: STREAMS }, () =>
    spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '48000', '-ac', '1'],
        ...['-i', 'pipe:0', '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20'],
        ...['-application', 'audio', '-f', 'ogg', '-page_duration', '20000', 'pipe:1'],
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    ),
  );
  let bytes = 0;
  const lastCpu = new Map<number, number>();
  for (const c of children) {
    c.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
    });
  }
  const parentBefore = ms();
  await paced((n) => {
    const pcm = frameAt(n);
    for (const c of children) c.stdin.write(pcm);
    // Read each child's CPU while it lives (it is gone from /proc after it exits).
    if (n % 25 === 0) for (const c of children) lastCpu.set(c.pid!, cpuOfPid(c.pid!));
  });
  for (const c of children) lastCpu.set(c.pid!, cpuOfPid(c.pid!));
  const parent = ms() - parentBefore;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.on('close', () => resolve());
          c.stdin.end();
        }),
    ),
  );
  const childCpu = [...lastCpu.values()].reduce((a, b) => a + b, 0);
  return {
    perStreamPercent: ((childCpu + parent) / STREAMS / (SECONDS * 1000)) * 100,
    bytes,
  };
}

async function opusscript(
  complexity?: number,
): Promise<{ perStreamPercent: number; bytes: number }> {
  const encoders = Array.from({ length: STREAMS }, () => {
    const e = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
    e.setBitrate(32_000);
    if (complexity !== undefined) e.encoderCTL(SET_COMPLEXITY, complexity);
    return e;
  });
  // Warm up (the WebAssembly compiles on first use; the JIT settles), then measure.
  for (let n = 0; n < 100; n++) for (const e of encoders) e.encode(frameAt(n), FRAME);
  let bytes = 0;
  const before = ms();
  await paced((n) => {
    const pcm = frameAt(n);
    for (const e of encoders) bytes += e.encode(pcm, FRAME).length;
  });
  const cpu = ms() - before;
  for (const e of encoders) e.delete();
  return { perStreamPercent: (cpu / STREAMS / (SECONDS * 1000)) * 100, bytes };
}

/** The frames themselves cost CPU in both runs: measured alone and subtracted. */
async function baseline(): Promise<number> {
  const before = ms();
  await paced((n) => {
    for (let s = 0; s < STREAMS; s++) frameAt(n);
  });
  return ((ms() - before) / STREAMS / (SECONDS * 1000)) * 100;
}

const base = await baseline();
const a = await ffmpegLibopus();
const b = await opusscript();
const byComplexity: Record<string, { cpuPercentOfCorePerStream: number; kbps: number }> = {};
for (const c of COMPLEXITIES) {
  const r = await opusscript(c);
  byComplexity[c] = {
    cpuPercentOfCorePerStream: Math.round((r.perStreamPercent - base) * 100) / 100,
    kbps: Math.round(((r.bytes * 8) / 1000 / SECONDS / STREAMS) * 100) / 100,
  };
}
const round = (x: number) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify(
    {
      streams: STREAMS,
      seconds: SECONDS,
      signalOnlyPercentPerStream: round(base),
      ffmpegLibopus: {
        cpuPercentOfCorePerStream: round(a.perStreamPercent - base),
        kbps: round((a.bytes * 8) / 1000 / SECONDS / STREAMS),
      },
      opusscript: {
        cpuPercentOfCorePerStream: round(b.perStreamPercent - base),
        kbps: round((b.bytes * 8) / 1000 / SECONDS / STREAMS),
      },
      opusscriptByComplexity: byComplexity,
    },
    null,
    2,
  ),
);
