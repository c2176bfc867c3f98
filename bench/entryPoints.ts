/**
 * Entry points at every frame: main chain + switch-in chains vs G rotated encodes.
 *
 * For each of the default avatar's loops (videos/default/idle.mp4, speaking.mp4) and each main-GOP
 * length G in {12, 25, 50}, with the server's default encode settings (512 px, 25 fps, 1500 kbit/s,
 * x264 preset veryfast), this measures with the project's own code:
 *   (a) main chain (IDR every G) + one switch-in chain per non-keyframe frame, one ffmpeg run
 *       (compileLoop, exactly what the server does);
 *   (b) G rotated full encodes, encode r forcing IDRs at r, r+G, … (frames fed in loop order);
 *   (c) one plain encode with an IDR every G frames (= rotation r = 0): what one session receives.
 * Reported per clip and G: slice bytes held, encoded frames, encode wall time, the ratios (b)/(a)
 * and (a|b)/(c), the main chain's bitrate, IDR sizes against the VBV buffer (bitrate/3), and mean
 * luma PSNR against the decoded source (so that byte ratios can be read at equal quality or not).
 *
 * It then checks the splice the server performs — switch-in chain j, then the main chain from its
 * next keyframe k — by decoding it with ffmpeg (plain and with `-err_detect explode`) and comparing
 * every frame from k on with decoding the main chain alone from k (SHA-256 per decoded frame), plus
 * two controls that must fail (skipping the IDR at k; dropping the chain's IDR). Finally it checks that every encode produced the same
 * SPS and PPS bytes and prints their profile/constraint/level bytes.
 *
 * Run: npx tsx bench/entryPoints.ts            (about 6 minutes on 2 vCPU; sequential encodes)
 *      npx tsx bench/entryPoints.ts --g 25     (only some G values)
 * Prints a JSON summary, then markdown tables. Temporary files go to os.tmpdir() and are removed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AccessUnit, parseAnnexB, toAnnexB } from '../packages/server/src/media/annexB.js';
import type { CompiledLoop } from '../packages/server/src/media/compiledAvatar.js';
import { compileLoop } from '../packages/server/src/media/compileLoop.js';
import {
  type DecodedFrames,
  decodeClip,
  openFrames,
} from '../packages/server/src/media/decodeClip.js';
import { type EncodeSettings, encoderArgs } from '../packages/server/src/media/encoderArgs.js';
import { nextMainKeyframe, planEntries } from '../packages/server/src/media/entryPlan.js';
import { findFfmpeg } from '../packages/server/src/media/findFfmpeg.js';
import { runFfmpeg } from '../packages/server/src/media/runFfmpeg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLIPS = ['idle', 'speaking'] as const;
/** Server defaults (packages/server/src/config/schema.ts). */
const SETTINGS: EncodeSettings = { size: 512, fps: 25, bitrateKbps: 1500, x264Preset: 'veryfast' };
const VBV_CAP_BYTES = (Math.round(SETTINGS.bitrateKbps / 3) * 1000) / 8;
const gArg = process.argv.indexOf('--g');
const G_VALUES =
  gArg > 0 ? process.argv[gArg + 1]!.split(',').map(Number) : ([12, 25, 50] as number[]);
const SPLICE_G = 25;
/** Switch-in frames checked per clip: spread over the loop, various offsets in the GOP, one wrap. */
const SPLICE_FRAMES = [1, 37, 149, 213, 298];

const ffmpeg = findFfmpeg().path;

// ----------------------------------------------------------------------------------------------
// Small helpers
// ----------------------------------------------------------------------------------------------

const sliceBytes = (au: AccessUnit) => au.slices.reduce((n, s) => n + s.length, 0);
const totalBytes = (aus: readonly AccessUnit[]) => aus.reduce((n, au) => n + sliceBytes(au), 0);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function sizeStats(aus: readonly AccessUnit[]) {
  const sizes = aus.map(sliceBytes);
  return {
    count: sizes.length,
    avgBytes: Math.round(mean(sizes)),
    maxBytes: Math.max(0, ...sizes),
  };
}

/** Annex-B stream as the server sends it: SPS+PPS before every IDR, slices only (no SEI/AUD). */
function spliceStream(aus: readonly AccessUnit[], sps: Uint8Array, pps: Uint8Array): Buffer {
  const nals: Uint8Array[] = [];
  for (const au of aus) {
    if (au.keyframe) nals.push(sps, pps);
    nals.push(...au.slices);
  }
  return toAnnexB(nals);
}

/** Collects every SPS/PPS seen, by hex, with where it came from. */
const paramSets = { sps: new Map<string, string[]>(), pps: new Map<string, string[]>() };
function noteParamSets(sps: Uint8Array[], pps: Uint8Array[], where: string) {
  for (const [kind, list] of [
    ['sps', sps],
    ['pps', pps],
  ] as const) {
    if (list.length === 0) throw new Error(`${where}: no ${kind.toUpperCase()}`);
    for (const nal of new Set(list.map(hex))) {
      const seen = paramSets[kind].get(nal) ?? [];
      if (!seen.includes(where)) seen.push(where);
      paramSets[kind].set(nal, seen);
    }
  }
}

// ----------------------------------------------------------------------------------------------
// Encoding (b)/(c) and decoding
// ----------------------------------------------------------------------------------------------

/** One full encode of the loop in frame order with IDRs forced at `keyframes` (as the server would). */
async function encodeInOrder(frames: DecodedFrames, keyframes: number[]) {
  const started = performance.now();
  const run = runFfmpeg(ffmpeg, encoderArgs('x264', SETTINGS, keyframes), 'rotated encode');
  const out: Buffer[] = [];
  run.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  const reader = await openFrames(frames);
  try {
    for (let i = 0; i < frames.count; i++) await run.write(await reader.read(i));
    run.end();
    await run.done;
  } finally {
    await reader.close();
  }
  const ms = performance.now() - started;
  const raw = Buffer.concat(out);
  const parsed = parseAnnexB(raw);
  if (parsed.accessUnits.length !== frames.count) {
    throw new Error(`rotated encode gave ${parsed.accessUnits.length}/${frames.count} pictures`);
  }
  // The encoder always starts with an IDR; otherwise IDRs must be exactly the forced ones.
  const expected = new Set([0, ...keyframes]);
  parsed.accessUnits.forEach((au, i) => {
    if (au.keyframe !== expected.has(i)) throw new Error(`rotated encode: frame ${i} IDR mismatch`);
  });
  return { raw, parsed, ms };
}

type DecodeResult = { hashes: string[]; stderr: string; exitCode: number | null };

/**
 * Decodes an Annex-B stream with the command line from the brief; hashes each output frame and
 * optionally hands it to `onFrame` (for PSNR) without keeping the frames.
 */
function decodeH264(
  stream: Buffer,
  opts: { explode?: boolean; onFrame?: (frame: Buffer, index: number) => void } = {},
): Promise<DecodeResult> {
  const args = ['-hide_banner', '-loglevel', 'error'];
  if (opts.explode) args.push('-err_detect', 'explode');
  args.push('-f', 'h264', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p');
  args.push('-fps_mode', 'passthrough', 'pipe:1');
  const frameBytes = (SETTINGS.size * SETTINGS.size * 3) / 2;
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const hashes: string[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const frame = pending.subarray(0, frameBytes);
        opts.onFrame?.(frame, hashes.length);
        hashes.push(createHash('sha256').update(frame).digest('hex'));
        pending = pending.subarray(frameBytes);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      stderr += c;
    });
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('close', (exitCode) => {
      if (pending.length) stderr += `\n(${pending.length} trailing bytes)`;
      resolve({ hashes, stderr: stderr.trim(), exitCode });
    });
    child.stdin.end(stream);
  });
}

/** Mean luma PSNR (dB) of decoded frames against the source, `sourceIndex` mapping output → frame. */
async function lumaPsnr(
  stream: Buffer,
  sourceY: Buffer[],
  sourceIndex: (outputIndex: number) => number,
): Promise<number> {
  const ySize = SETTINGS.size * SETTINGS.size;
  const psnrs: number[] = [];
  const result = await decodeH264(stream, {
    onFrame(frame, i) {
      const ref = sourceY[sourceIndex(i)]!;
      let sse = 0;
      for (let p = 0; p < ySize; p++) {
        const d = frame[p]! - ref[p]!;
        sse += d * d;
      }
      psnrs.push(sse === 0 ? 100 : 10 * Math.log10((255 * 255 * ySize) / sse));
    },
  });
  if (result.exitCode !== 0) throw new Error(`PSNR decode failed: ${result.stderr}`);
  return round(mean(psnrs));
}

// ----------------------------------------------------------------------------------------------
// The benchmark
// ----------------------------------------------------------------------------------------------

type Row = {
  clip: string;
  G: number;
  a: { bytes: number; frames: number; seconds: number };
  b: { bytes: number; frames: number; seconds: number };
  c: { bytes: number; frames: number; seconds: number };
  bOverA: { bytes: number; time: number };
  aOverC: number;
  bOverC: number;
  sessionKbps: { aMain: number; c: number };
  idr: {
    aMain: ReturnType<typeof sizeStats>;
    aChains: ReturnType<typeof sizeStats>;
    c: ReturnType<typeof sizeStats>;
    rotations: ReturnType<typeof sizeStats>;
    aPFrameAvgBytes: number;
    vbvCapBytes: number;
  };
  psnrY: { aMain: number; aChains: number; b: number; c: number };
};

type SpliceCheck = {
  splice: string;
  j: number;
  k: number;
  framesDecoded: number;
  framesExpected: number;
  identicalFromK: boolean;
  identicalToFullMain: boolean;
  explodeClean: boolean;
  stderr: string;
};

async function waitForClips() {
  for (let attempt = 0; ; attempt++) {
    const missing = CLIPS.filter((c) => !existsSync(path.join(ROOT, 'videos/default', `${c}.mp4`)));
    if (missing.length === 0) return;
    if (attempt >= 10) throw new Error(`missing clips: ${missing.join(', ')}`);
    console.error(`waiting for ${missing.join(', ')} …`);
    await new Promise((r) => setTimeout(r, 60_000));
  }
}

async function benchClip(clip: string, tmp: string, rows: Row[], splices: SpliceCheck[]) {
  const frames = await decodeClip({
    ffmpegPath: ffmpeg,
    input: path.join(ROOT, 'videos/default', `${clip}.mp4`),
    output: path.join(tmp, `${clip}.yuv`),
    size: SETTINGS.size,
    fps: SETTINGS.fps,
  });
  const N = frames.count;
  const seconds = N / SETTINGS.fps;
  const raw = readFileSync(frames.path);
  const ySize = SETTINGS.size * SETTINGS.size;
  const sourceY = Array.from({ length: N }, (_, i) =>
    raw.subarray(i * frames.frameBytes, i * frames.frameBytes + ySize),
  );

  for (const G of G_VALUES) {
    console.error(`${clip} G=${G}: main + switch-in chains …`);
    // (a) main + switch-in chains, exactly as the server compiles them.
    const t0 = performance.now();
    const compiled = await compileLoop({
      ffmpegPath: ffmpeg,
      encoder: 'x264',
      settings: SETTINGS,
      frames,
      keyframeInterval: G,
    });
    const aSeconds = (performance.now() - t0) / 1000;
    const { main, chains } = compiled.loop;
    const chainAus = chains.flat();
    noteParamSets(compiled.sps, compiled.pps, `${clip} G=${G} chains`);
    const sps = compiled.sps[0]!;
    const pps = compiled.pps[0]!;
    const aBytes = totalBytes(main) + totalBytes(chainAus);

    // (b) G rotated encodes; (c) is rotation 0 (IDR every G from frame 0), the same command line.
    console.error(`${clip} G=${G}: ${G} rotated encodes …`);
    let bBytes = 0;
    let bMs = 0;
    const rotationIdrs: AccessUnit[] = [];
    const rotationRaw: Buffer[] = [];
    let plain: { bytes: number; ms: number; aus: AccessUnit[] } | undefined;
    for (let r = 0; r < G; r++) {
      const keyframes: number[] = [];
      for (let f = r; f < N; f += G) keyframes.push(f);
      const enc = await encodeInOrder(frames, keyframes);
      const aus = enc.parsed.accessUnits;
      noteParamSets(enc.parsed.sps, enc.parsed.pps, `${clip} G=${G} rotations`);
      bBytes += totalBytes(aus);
      bMs += enc.ms;
      rotationIdrs.push(...aus.filter((au) => au.keyframe));
      rotationRaw.push(enc.raw);
      if (r === 0) plain = { bytes: totalBytes(aus), ms: enc.ms, aus };
    }
    const c = plain!;

    console.error(`${clip} G=${G}: PSNR …`);
    // Chains decode back to back (each starts with an IDR); output order = plan.sequence after N.
    const chainFrames = planEntries(N, G).sequence.slice(N);
    const psnrY = {
      aMain: await lumaPsnr(spliceStream(main, sps, pps), sourceY, (i) => i),
      aChains: await lumaPsnr(spliceStream(chainAus, sps, pps), sourceY, (i) => chainFrames[i]!),
      b: await lumaPsnr(Buffer.concat(rotationRaw), sourceY, (i) => i % N),
      c: await lumaPsnr(spliceStream(c.aus, sps, pps), sourceY, (i) => i),
    };

    const chainIdrs = chains.filter((ch) => ch.length > 0).map((ch) => ch[0]!);
    const pFrames = [...main, ...chainAus].filter((au) => !au.keyframe);
    rows.push({
      clip,
      G,
      a: { bytes: aBytes, frames: compiled.encodedFrames, seconds: round(aSeconds) },
      b: { bytes: bBytes, frames: G * N, seconds: round(bMs / 1000) },
      c: { bytes: c.bytes, frames: N, seconds: round(c.ms / 1000) },
      bOverA: { bytes: round(bBytes / aBytes), time: round(bMs / 1000 / aSeconds) },
      aOverC: round(aBytes / c.bytes),
      bOverC: round(bBytes / c.bytes),
      sessionKbps: {
        aMain: Math.round((totalBytes(main) * 8) / seconds / 1000),
        c: Math.round((c.bytes * 8) / seconds / 1000),
      },
      idr: {
        aMain: sizeStats(main.filter((au) => au.keyframe)),
        aChains: sizeStats(chainIdrs),
        c: sizeStats(c.aus.filter((au) => au.keyframe)),
        rotations: sizeStats(rotationIdrs),
        aPFrameAvgBytes: Math.round(mean(pFrames.map(sliceBytes))),
        vbvCapBytes: VBV_CAP_BYTES,
      },
      psnrY,
    });

    if (G === SPLICE_G) {
      console.error(`${clip} G=${G}: splice checks …`);
      const fullMain = await decodeH264(spliceStream(main, sps, pps));
      const ctx: SpliceContext = { clip, loop: compiled.loop, sps, pps, fullMain };
      for (const j of SPLICE_FRAMES) splices.push(await checkSplice(ctx, j));
      splices.push(await negativeControl(ctx, SPLICE_FRAMES[1]!, 'late'));
      splices.push(await negativeControl(ctx, SPLICE_FRAMES[1]!, 'no-idr'));
    }
  }
}

type SpliceContext = {
  clip: string;
  loop: CompiledLoop;
  sps: Uint8Array;
  pps: Uint8Array;
  /** The main chain decoded from frame 0 on its own. */
  fullMain: DecodeResult;
};

/** Switch-in chain j, then the main chain from its next keyframe k (frame 0 if the loop wraps). */
async function checkSplice(ctx: SpliceContext, j: number): Promise<SpliceCheck> {
  const { main, chains, keyframeInterval: G } = ctx.loop;
  const N = main.length;
  const k = nextMainKeyframe(j, G, N) % N;
  const chain = chains[j]!;
  const stream = spliceStream([...chain, ...main.slice(k)], ctx.sps, ctx.pps);
  const plain = await decodeH264(stream);
  const exploded = await decodeH264(stream, { explode: true });
  const alone = await decodeH264(spliceStream(main.slice(k), ctx.sps, ctx.pps));
  const tail = plain.hashes.slice(chain.length);
  const full = ctx.fullMain.hashes.slice(k);
  return {
    splice: ctx.clip,
    j,
    k,
    framesDecoded: plain.hashes.length,
    framesExpected: chain.length + N - k,
    identicalFromK: sameFrames(tail, alone.hashes),
    identicalToFullMain: sameFrames(tail, full),
    explodeClean:
      exploded.exitCode === 0 &&
      exploded.stderr === '' &&
      sameFrames(exploded.hashes, plain.hashes),
    stderr: [plain.stderr, exploded.stderr].filter(Boolean).join(' | ').slice(0, 300),
  };
}

/**
 * Controls that must FAIL, or the checks above would prove nothing: 'late' enters the main chain
 * at P-frame k+1 (skipping the IDR at k, so it predicts from the chain's last frame); 'no-idr'
 * drops the switch-in chain's IDR, so the stream starts at a P-frame.
 */
async function negativeControl(
  ctx: SpliceContext,
  j: number,
  kind: 'late' | 'no-idr',
): Promise<SpliceCheck> {
  const { main, chains, keyframeInterval: G } = ctx.loop;
  const N = main.length;
  const k = nextMainKeyframe(j, G, N) % N;
  const chain = kind === 'no-idr' ? chains[j]!.slice(1) : chains[j]!;
  const mainFrom = kind === 'late' ? k + 1 : k;
  const stream = spliceStream([...chain, ...main.slice(mainFrom)], ctx.sps, ctx.pps);
  const plain = await decodeH264(stream);
  const exploded = await decodeH264(stream, { explode: true });
  const expected = ctx.fullMain.hashes.slice(mainFrom);
  const tail = plain.hashes.slice(plain.hashes.length - expected.length);
  return {
    splice: `${ctx.clip} control: ${kind === 'late' ? 'enter main at k+1 (no IDR)' : 'chain without its IDR'}`,
    j,
    k: mainFrom,
    framesDecoded: plain.hashes.length,
    framesExpected: chain.length + N - mainFrom,
    identicalFromK: sameFrames(tail, expected),
    identicalToFullMain: sameFrames(tail, expected),
    explodeClean: exploded.exitCode === 0 && exploded.stderr === '',
    stderr: [plain.stderr, exploded.stderr].filter(Boolean).join(' | ').slice(0, 300),
  };
}

const sameFrames = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((h, i) => h === b[i]);

function spsFields(spsHex: string) {
  const b = Buffer.from(spsHex, 'hex');
  const constraint = b[2]!;
  return {
    profileIdc: b[1]!,
    constraintFlags: `0x${constraint.toString(16).padStart(2, '0')}`,
    constraintSet0to3: [7, 6, 5, 4].map((bit) => (constraint >> bit) & 1).join(''),
    levelIdc: b[3]!,
    profileLevelId: b.subarray(1, 4).toString('hex'),
  };
}

// ----------------------------------------------------------------------------------------------
// Output
// ----------------------------------------------------------------------------------------------

function markdown(rows: Row[], splices: SpliceCheck[]): string {
  const kb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
  const lines = [
    '| clip | G | (a) main+chains: bytes / frames / s | (b) G rotations: bytes / frames / s | (b)/(a) bytes | (b)/(a) time | (a)/(c) | (b)/(c) | (c) plain: bytes / s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.clip} | ${r.G} | ${kb(r.a.bytes)} / ${r.a.frames} / ${r.a.seconds} | ${kb(r.b.bytes)} / ${r.b.frames} / ${r.b.seconds} | ${r.bOverA.bytes} | ${r.bOverA.time} | ${r.aOverC} | ${r.bOverC} | ${kb(r.c.bytes)} / ${r.c.seconds} |`,
    );
  }
  lines.push(
    '',
    '| clip | G | session kbit/s (a) main / (c) | IDR avg/max KB: (a) main | (a) chains | (c) | rotations | avg P KB (a) | Y-PSNR dB: (a) main / (a) chains / (b) / (c) |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  const s = (x: { avgBytes: number; maxBytes: number }) =>
    `${(x.avgBytes / 1000).toFixed(1)} / ${(x.maxBytes / 1000).toFixed(1)}`;
  for (const r of rows) {
    const p = r.psnrY;
    lines.push(
      `| ${r.clip} | ${r.G} | ${r.sessionKbps.aMain} / ${r.sessionKbps.c} | ${s(r.idr.aMain)} | ${s(r.idr.aChains)} | ${s(r.idr.c)} | ${s(r.idr.rotations)} | ${(r.idr.aPFrameAvgBytes / 1000).toFixed(2)} | ${p.aMain} / ${p.aChains} / ${p.b} / ${p.c} |`,
    );
  }
  lines.push(
    '',
    `VBV buffer (= IDR cap) ${VBV_CAP_BYTES} bytes (${SETTINGS.bitrateKbps / 3} kbit).`,
    '',
    '| splice | j | k | frames decoded/expected | identical from k (vs main alone) | identical vs full main | -err_detect explode clean |',
    '|---|---|---|---|---|---|---|',
  );
  for (const c of splices) {
    lines.push(
      `| ${c.splice} | ${c.j} | ${c.k} | ${c.framesDecoded}/${c.framesExpected} | ${c.identicalFromK} | ${c.identicalToFullMain} | ${c.explodeClean} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  await waitForClips();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'entry-points-'));
  const rows: Row[] = [];
  const splices: SpliceCheck[] = [];
  const loadBefore = os.loadavg().map((x) => round(x));
  const started = performance.now();
  try {
    for (const clip of CLIPS) await benchClip(clip, tmp, rows, splices);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const [spsList, ppsList] = [[...paramSets.sps.keys()], [...paramSets.pps.keys()]];
  const summary = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      loadavgBefore: loadBefore,
      loadavgAfter: os.loadavg().map((x) => round(x)),
    },
    settings: SETTINGS,
    totalSeconds: round((performance.now() - started) / 1000, 1),
    rows,
    splices,
    allSplicesIdentical: splices
      .filter((c) => !c.splice.includes('control'))
      .every((c) => c.identicalFromK && c.identicalToFullMain && c.explodeClean),
    parameterSets: {
      identicalEverywhere: spsList.length === 1 && ppsList.length === 1,
      sps: spsList.map((h) => ({ hex: h, ...spsFields(h), seenIn: paramSets.sps.get(h)!.length })),
      pps: ppsList.map((h) => ({ hex: h, seenIn: paramSets.pps.get(h)!.length })),
      negotiatedProfileLevelId: '42e01f',
    },
  };
  console.log(JSON.stringify(summary, null, 2));
  console.log();
  console.log(markdown(rows, splices));
}

await main();
