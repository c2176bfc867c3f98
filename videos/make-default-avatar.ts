/**
 * Generates the product's default avatar: a friendly, stylised cartoon bust.
 *
 * The default avatar is NOT a recording of a person. Every frame is drawn procedurally in
 * plain Node (signed-distance shapes with 1px anti-aliasing, no fonts, no assets, no npm
 * dependencies) and piped as raw RGB24 into ffmpeg, which encodes two seamless loops:
 *
 *   videos/default/idle.mp4      breathing, blinking, gentle sway, mouth closed
 *   videos/default/speaking.mp4  the idle footage (same motion, frame for frame) with a
 *                                syllable-driven mouth and small brow raises
 *
 * Both clips: 512x512, 25 fps, 300 frames (12 s), H.264 yuv420p, +faststart, no audio.
 * Every periodic motion completes an integer number of cycles in 300 frames and every
 * transient (blink, syllable, brow raise, glance) ends before the last frame, so frame 299 flows
 * into frame 0. Both clips start in the same neutral pose, so cutting between them at
 * frame 0 is seamless. A seeded PRNG makes the output reproducible.
 *
 * The two clips share ONE body/head/breathing/sway/gaze/blink timeline: speaking frame i is
 * idle frame i plus mouth and brows, and the mouth closes fully between syllables (every
 * 320-440 ms) and between phrases. So the server's cut analysis (bench/naturalness.ts) finds,
 * for almost every frame of either loop, a frame of the other loop that continues it naturally
 * (idle i -> speaking i+1 differs only by the mouth, and not at all at mouth-closed moments).
 * Keep it that way: give the speaking loop no head motion of its own.
 *
 * Rerun (needs ffmpeg with libx264 on PATH, or FFMPEG_PATH=/path/to/ffmpeg):
 *   npm run make-videos        # same as: npx tsx videos/make-default-avatar.ts
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SIZE = 512;
export const FPS = 25;
export const FRAMES = 300;
const TAU = Math.PI * 2;
const DEG = Math.PI / 180;

// ---------------------------------------------------------------------------------------
// Small math helpers
// ---------------------------------------------------------------------------------------

const clamp01 = (v: number): number => Math.max(0, Math.min(1, v));
const mix = (a: number, b: number, t: number): number => a + (b - a) * t;
function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}
/** Coverage of a pixel whose centre is at signed distance d (px, negative = inside). */
function cov(d: number): number {
  return d <= -0.6 ? 1 : d >= 0.6 ? 0 : 0.5 - d / 1.2;
}
/** Approximate signed distance (px) to an axis-aligned ellipse centred at the origin. */
function ellipseSd(x: number, y: number, rx: number, ry: number): number {
  const k0 = Math.hypot(x / rx, y / ry);
  const k1 = Math.hypot(x / (rx * rx), y / (ry * ry));
  return k1 > 1e-9 ? (k0 * (k0 - 1)) / k1 : -Math.min(rx, ry);
}

/** mulberry32: tiny deterministic PRNG. */
function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Smooth loop-safe noise: a sum of sines with integer cycle counts over the clip, shifted so
 * that it is exactly 0 at frame 0 (and therefore also at frame FRAMES). Phases are chosen
 * (deterministically) so that this shift is small, keeping the motion centred.
 */
function loopNoise(rng: () => number, amp: number, cycles: number[]): (f: number) => number {
  let terms: { k: number; a: number; p: number }[] = [];
  let at0 = Infinity;
  for (let attempt = 0; attempt < 64 && Math.abs(at0) > 0.08 * amp; attempt++) {
    const cand = cycles.map((k, i) => ({ k, a: amp / (i + 1), p: rng() * TAU }));
    const v = cand.reduce((s, t) => s + t.a * Math.sin(t.p), 0);
    if (Math.abs(v) < Math.abs(at0)) {
      terms = cand;
      at0 = v;
    }
  }
  return (f) => {
    let s = -at0;
    for (const t of terms) s += t.a * Math.sin((TAU * t.k * f) / FRAMES + t.p);
    return s;
  };
}

/** Asymmetric bump on [0,1]: quick rise, slower fall; 0 outside. */
function bump(p: number, peak = 0.35): number {
  if (p <= 0 || p >= 1) return 0;
  if (p < peak) return Math.sin((Math.PI / 2) * (p / peak)) ** 2;
  return Math.cos((Math.PI / 2) * ((p - peak) / (1 - peak))) ** 2;
}

// ---------------------------------------------------------------------------------------
// Pose (everything that animates) and the two timelines
// ---------------------------------------------------------------------------------------

export interface Pose {
  breathe: number; // 0..1 chest rise
  headX: number; // px
  headY: number; // px
  roll: number; // radians, head tilt around the neck
  yaw: number; // -1..1 pseudo-3D turn (features slide sideways)
  pitch: number; // -1..1 pseudo-3D nod (features slide down)
  blink: number; // 0 open .. 1 closed
  gazeX: number; // px
  gazeY: number; // px
  mouthOpen: number; // 0..1
  mouthWidth: number; // ~1
  smile: number; // px of mouth-corner lift
  brow: number; // px of eyebrow raise
}

function blinkTrack(rng: () => number): Float32Array {
  const out = new Float32Array(FRAMES);
  const starts: number[] = [];
  let t = 22 + Math.floor(rng() * 28);
  while (t < FRAMES - 14) {
    starts.push(t);
    if (rng() < 0.18 && t + 9 < FRAMES - 14) starts.push(t + 9); // occasional double blink
    t += 50 + Math.floor(rng() * 75); // 2..5 s apart
  }
  for (const s of starts) {
    for (let f = s; f < Math.min(FRAMES, s + 8); f++) {
      const r = f - s + 0.5;
      const c = r < 2 ? smoothstep(0, 2, r) : r < 2.6 ? 1 : 1 - smoothstep(2.6, 6.5, r);
      out[f] = Math.max(out[f] ?? 0, c);
    }
  }
  return out;
}

function gazeTrack(rng: () => number, spread: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(FRAMES);
  const y = new Float32Array(FRAMES);
  const fix: { t: number; x: number; y: number }[] = [{ t: 0, x: 0, y: 0 }];
  let t = 45 + Math.floor(rng() * 40);
  while (t < FRAMES - 40) {
    const away = rng() < 0.55;
    fix.push({
      t,
      x: away ? (rng() * 2 - 1) * spread : 0,
      y: away ? (rng() * 2 - 1) * spread * 0.45 : 0,
    });
    t += 35 + Math.floor(rng() * 55);
  }
  fix.push({ t: Math.min(t, FRAMES - 20), x: 0, y: 0 });
  let cur = { x: 0, y: 0 };
  let i = 0;
  for (let f = 0; f < FRAMES; f++) {
    while (i + 1 < fix.length && (fix[i + 1]?.t ?? Infinity) <= f) i++;
    const target = fix[i]!;
    const k = f - target.t < 3 ? 0.6 : 1; // saccade: settles within ~3 frames
    cur = { x: mix(cur.x, target.x, k), y: mix(cur.y, target.y, k) };
    x[f] = cur.x;
    y[f] = cur.y;
  }
  return { x, y };
}

export function idleTimeline(): Pose[] {
  const rng = makeRng(0x1d1e);
  const blink = blinkTrack(rng);
  const gaze = gazeTrack(rng, 3.2);
  const roll = loopNoise(rng, 1.3 * DEG, [1, 2, 3]);
  const sway = loopNoise(rng, 2.2, [1, 2]);
  const yaw = loopNoise(rng, 0.45, [1, 2]);
  const pitch = loopNoise(rng, 0.25, [1, 3]);
  const poses: Pose[] = [];
  for (let f = 0; f < FRAMES; f++) {
    const breathe = 0.5 - 0.5 * Math.cos((TAU * 3 * f) / FRAMES); // 4 s breaths
    poses.push({
      breathe,
      headX: sway(f),
      headY: -1.4 * breathe,
      roll: roll(f),
      yaw: yaw(f),
      pitch: pitch(f) + 0.12 * breathe,
      blink: blink[f] ?? 0,
      gazeX: gaze.x[f] ?? 0,
      gazeY: gaze.y[f] ?? 0,
      mouthOpen: 0,
      mouthWidth: 1,
      smile: 3.6,
      brow: 0,
    });
  }
  return poses;
}

/**
 * The speaking loop is the idle loop's footage with a talking face: the same body, breathing,
 * sway, gaze and blinks frame for frame (shared timeline), plus syllables that open the mouth,
 * drop the jaw, stretch the cheeks and dip the head a little, and a few short eyebrow raises on
 * stressed syllables. A syllable comes every 7 frames (3.6 Hz, a speaking rate) with the mouth
 * open on 4 of them (40% of the clip), so speech shows on its own, without the badge.
 *
 * Between syllables everything returns exactly to the idle pose for 3 frames, and phrases end
 * in a longer pause, so at more than half of the frames the speaking frame equals the idle frame at the same
 * index. The server can therefore cut idle frame i -> speaking frame i+1 (and back) at a closed
 * mouth with nothing else changing (bench/naturalness.ts measures it). Keep it that way: give
 * the speaking loop no motion of its own outside its syllables.
 */
export function speakingTimeline(idle: Pose[] = idleTimeline()): Pose[] {
  // Any seed gives the same rhythm; they differ in where phrases fall against blinks and sway.
  // Of the first eight (and the earlier 0x5ea4), 8 gives the lowest idle -> speaking cut median
  // in bench/naturalness.ts (1.40 on the rendered frames; the others 1.46-1.66).
  const rng = makeRng(8);
  const open = new Float32Array(FRAMES);
  const width = new Float32Array(FRAMES).fill(1);
  const brow = new Float32Array(FRAMES);

  // Phrases of 3-5 syllables; a syllable opens the mouth for 4 frames (160 ms), then 3 frames
  // fully closed (their amplitude, width and stress vary); phrases end in a closed pause of 0.3-0.5 s. Everything is on integer
  // frames, so "closed" is exactly 0 (identical to idle). The pauses and closed gaps are what let
  // the server cut into speech naturally; the syllables are what make speech visible.
  let t = 4;
  const end = FRAMES - 8; // the last syllable closes well before the loop point
  while (t < end - 10) {
    const n = 3 + Math.floor(rng() * 3);
    for (let i = 0; i < n; i++) {
      const dur = 4;
      if (t + dur > end) break;
      const amp = 0.55 + 0.45 * rng() ** 0.7;
      const w = 0.82 + 0.3 * rng();
      for (let f = t; f < t + dur; f++) {
        // Rounder than a plain bump: the mouth is visibly open on every frame of the syllable.
        const b = bump((f - t + 0.5) / dur, 0.4) ** 0.6 * amp;
        open[f] = b;
        width[f] = mix(1, w, clamp01(b * 1.5));
      }
      // Stressed syllables: sometimes a quick eyebrow raise, over the syllable only.
      if (amp > 0.8 && rng() < 0.35) {
        for (let f = t; f < t + dur; f++) brow[f] = bump((f - t + 0.5) / dur, 0.4);
      }
      t += dur + 3;
    }
    t += 7 + Math.floor(rng() * 7); // breath / pause between phrases (mouth closed)
  }

  return idle.map((pose, f) => {
    const o = Math.min(1, open[f] ?? 0);
    return {
      ...pose,
      // The head dips with the jaw on each syllable (chin down, features slide down), and the
      // brows lift a little: like the jaw, with the square of the opening (see renderFrame).
      headY: pose.headY + 1.6 * o * o,
      pitch: pose.pitch + 0.35 * o * o,
      mouthOpen: o,
      mouthWidth: o > 0 ? (width[f] ?? 1) : pose.mouthWidth,
      smile: pose.smile - 1.4 * o,
      brow: pose.brow + 4 * (brow[f] ?? 0) + 1.2 * o * o,
    };
  });
}

// ---------------------------------------------------------------------------------------
// Renderer: painter's algorithm over a float RGB buffer; each shape only visits its bbox.
// ---------------------------------------------------------------------------------------

type RGB = readonly [number, number, number];
const hex = (h: number): RGB => [((h >> 16) & 255) / 255, ((h >> 8) & 255) / 255, (h & 255) / 255];

const C = {
  bgTop: hex(0xd7e8f6),
  bgBottom: hex(0xf6e3ea),
  glow: hex(0xfffbf4),
  skinLight: hex(0xf8d2b6),
  skin: hex(0xeebb98),
  skinShadow: hex(0xcf9170),
  neck: hex(0xe0a583),
  neckShadow: hex(0xb97757),
  blush: hex(0xf0907f),
  hair: hex(0x4a2f25),
  hairDark: hex(0x2f1c16),
  hairLight: hex(0x7a5241),
  shirt: hex(0x4f86c6),
  shirtDark: hex(0x355f96),
  shirtLight: hex(0x79a7dc),
  collar: hex(0x3b6aa6),
  sclera: hex(0xfbf8f5),
  scleraShadow: hex(0xd9ccc8),
  irisOuter: hex(0x3a2418),
  irisInner: hex(0x8a5a34),
  irisLow: hex(0xb07a45),
  pupil: hex(0x140c0a),
  lash: hex(0x2b1813),
  brow: hex(0x4a2f25),
  lipUpper: hex(0xc9766f),
  lipLower: hex(0xdc8c85),
  mouthLine: hex(0x8e4843),
  mouthIn: hex(0x5b2126),
  mouthInDeep: hex(0x3a1216),
  teeth: hex(0xf4eee8),
  tongue: hex(0xd86f77),
};

const W = SIZE;
const H = SIZE;
const buf = new Float32Array(W * H * 3);
const background = new Float32Array(W * H * 3);

// Scratch colour written by shaders (module-level to avoid per-pixel allocations).
let cr = 0;
let cg = 0;
let cb = 0;
function setColor(c: RGB): void {
  cr = c[0];
  cg = c[1];
  cb = c[2];
}
function mixColor(a: RGB, b: RGB, t: number): void {
  cr = a[0] + (b[0] - a[0]) * t;
  cg = a[1] + (b[1] - a[1]) * t;
  cb = a[2] + (b[2] - a[2]) * t;
}
function blendColor(c: RGB, t: number): void {
  cr += (c[0] - cr) * t;
  cg += (c[1] - cg) * t;
  cb += (c[2] - cb) * t;
}

type Box = [number, number, number, number];
/** Shader: given a pixel centre, sets cr/cg/cb and returns its coverage (alpha) 0..1. */
type Shader = (x: number, y: number) => number;

function paint(box: Box, shader: Shader): void {
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(W, Math.ceil(box[2]));
  const y1 = Math.min(H, Math.ceil(box[3]));
  for (let y = y0; y < y1; y++) {
    let i = (y * W + x0) * 3;
    for (let x = x0; x < x1; x++, i += 3) {
      const a = shader(x + 0.5, y + 0.5);
      if (a <= 0) continue;
      if (a >= 1) {
        buf[i] = cr;
        buf[i + 1] = cg;
        buf[i + 2] = cb;
      } else {
        buf[i] = buf[i]! + (cr - buf[i]!) * a;
        buf[i + 1] = buf[i + 1]! + (cg - buf[i + 1]!) * a;
        buf[i + 2] = buf[i + 2]! + (cb - buf[i + 2]!) * a;
      }
    }
  }
}

// Rest-pose layout (px). The head rotates around a pivot at the top of the neck.
const HEAD_X = 256;
const HEAD_Y = 222;
const HEAD_RX = 104;
const HEAD_RY_TOP = 118;
const HEAD_RY_BOTTOM = 128;
const PIVOT_X = 256;
const PIVOT_Y = 330;
const EYE_DX = 43;
const EYE_Y = 242;
const EYE_RX = 21;
const BROW_Y = 210;
const NOSE_Y = 276;
const MOUTH_Y = 304;
const MOUTH_HW = 23;

// Current head transform: screen -> head-local (rest pose) coordinates.
let hc = 1;
let hs = 0;
let px = PIVOT_X;
let py = PIVOT_Y;
const toLX = (x: number, y: number): number => hc * (x - px) + hs * (y - py) + PIVOT_X;
const toLY = (x: number, y: number): number => -hs * (x - px) + hc * (y - py) + PIVOT_Y;

/** Screen-space bbox of a rest-pose (head-local) box under the current head transform. */
function headBox(x0: number, y0: number, x1: number, y1: number): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [lx, ly] of [
    [x0, y0],
    [x1, y0],
    [x0, y1],
    [x1, y1],
  ] as const) {
    const sx = hc * (lx - PIVOT_X) - hs * (ly - PIVOT_Y) + px;
    const sy = hs * (lx - PIVOT_X) + hc * (ly - PIVOT_Y) + py;
    minX = Math.min(minX, sx);
    minY = Math.min(minY, sy);
    maxX = Math.max(maxX, sx);
    maxY = Math.max(maxY, sy);
  }
  return [minX - 2, minY - 2, maxX + 2, maxY + 2];
}

function buildBackground(): void {
  for (let y = 0; y < H; y++) {
    const t = smoothstep(0, H, y + 0.5);
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const g = Math.exp(-(((x - 256) / 210) ** 2 + ((y - 215) / 190) ** 2)) * 0.55;
      for (let c = 0; c < 3; c++) {
        const base = mix(C.bgTop[c]!, C.bgBottom[c]!, t);
        background[i + c] = mix(base, C.glow[c]!, g);
      }
    }
  }
}

/** Top edge of the shirt at horizontal distance ax from the centre (rest pose). */
const SHOULDER_X = 158;
const SHOULDER_R = 62;
function shoulderLine(ax: number): number {
  let y = 391 + 32 * smoothstep(20, 175, ax);
  const over = ax - SHOULDER_X;
  if (over > 0) y += SHOULDER_R - Math.sqrt(Math.max(0, SHOULDER_R ** 2 - over * over));
  return y;
}

/** Head silhouette (egg: narrower jaw), local coords relative to head centre. */
function headSd(lx: number, ly: number, jaw: number): number {
  const ry = ly < 0 ? HEAD_RY_TOP : HEAD_RY_BOTTOM + jaw;
  const v = ly < 0 ? 0 : ly / ry;
  const narrow = 1 - 0.17 * smoothstep(0.05, 1, v);
  return ellipseSd(lx / narrow, ly, HEAD_RX, ry);
}

/** Skin colour with soft key light (upper left) and rim darkening. */
function skinColor(lx: number, ly: number, edge: number): void {
  const nx = lx / HEAD_RX;
  const ny = ly / HEAD_RY_BOTTOM;
  const light = clamp01(0.62 - 0.22 * nx - 0.3 * ny);
  mixColor(C.skin, C.skinLight, light);
  blendColor(C.skinShadow, 0.75 * (1 - smoothstep(0, 26, -edge)) ** 1.6);
}

/** Face window: the skin area not covered by hair (side-swept fringe on top). */
function faceWindowSd(lx: number, ly: number): number {
  const oval = ellipseSd(lx, ly - 26, 94, 128);
  const nx = lx / HEAD_RX;
  // Fringe edge: sweeps from high on the right to lower on the left, with soft scallops.
  const fringe =
    -70 + 34 * ((nx - 0.45) / 1.35) ** 2 + 4.5 * Math.abs(Math.sin((nx + 0.9) * 4.2)) - 4 * nx;
  return Math.max(oval, fringe - ly);
}

function hairSd(lx: number, ly: number): number {
  const cap = ellipseSd(lx, ly + 6, 121, 132);
  // Bob length: ends around the jaw, a little shorter at the sides.
  const bottom = 70 - 10 * (lx / 120) ** 2;
  return Math.max(cap, ly - bottom);
}

export function renderFrame(p: Pose, out: Uint8Array): void {
  buf.set(background);

  const bodyDy = -3.2 * p.breathe;
  const bodyScale = 1 + 0.008 * p.breathe;
  // Head transform.
  hc = Math.cos(p.roll);
  hs = Math.sin(p.roll);
  px = PIVOT_X + p.headX;
  py = PIVOT_Y + p.headY;
  const fdx = p.yaw * 5; // features slide with yaw/pitch (pseudo-3D)
  const fdy = p.pitch * 5;
  // px the chin drops as the mouth opens. Jaw, cheeks and head follow the square of the opening:
  // full on an open vowel, little at a syllable's first and last frame, so the frames around a
  // closed mouth stay close to the idle footage (what the server's cuts look for).
  const jaw = 11 * p.mouthOpen ** 2;

  // --- Shoulders / chest -------------------------------------------------------------------
  const bodyTop = 389 + bodyDy;
  const shirtSd = (x: number, y: number): number => {
    const ax = Math.abs(x - 256) / bodyScale;
    const top = shoulderLine(ax) + bodyDy;
    const slope = shoulderLine(ax + 0.5) - shoulderLine(ax - 0.5);
    return Math.max((top - y) / Math.sqrt(1 + slope * slope), ax - SHOULDER_X - SHOULDER_R);
  };
  paint([0, bodyTop - 2, W, H], (x, y) => {
    const d = shirtSd(x, y);
    const nx = (x - 256) / 236;
    const light = clamp01(0.6 - 0.35 * nx - 0.006 * (y - 420));
    mixColor(C.shirtDark, C.shirtLight, light * 0.8);
    blendColor(C.shirtDark, 0.6 * (1 - smoothstep(0, 24, -d)));
    return cov(d);
  });
  // Neck and the skin showing through the round neckline, as one continuously shaded shape:
  // a column that flares into the shoulders, plus the neckline (clipped to the shirt).
  const neckX = 256 + p.headX * 0.6; // between body and head: takes part of the head motion
  const neckTop = 300 + p.headY * 0.5;
  const nly = 387 + bodyDy;
  const necklineSd = (x: number, y: number) => ellipseSd(x - 256, y - nly, 48, 34);
  paint([neckX - 62, neckTop, neckX + 62, nly + 40], (x, y) => {
    const t = smoothstep(neckTop + 40, nly + 6, y);
    const hw = 33 + 12 * t * t * t;
    const column = Math.max(Math.abs(x - neckX) - hw, neckTop - y);
    const shirt = shirtSd(x, y);
    const neckline = necklineSd(x, y);
    // (column outside the shirt) U (neckline inside the shirt) U (column inside the neckline)
    const d = Math.min(
      Math.max(column, -shirt),
      Math.max(neckline, shirt),
      Math.max(column, neckline),
    );
    if (d > 1) return 0;
    const side = clamp01(Math.abs(x - neckX) / (hw + 6));
    mixColor(C.neck, C.neckShadow, 0.22 + 0.4 * smoothstep(0.5, 1, side));
    // Soft shadow cast by the chin, and a hint of collarbone shading inside the neckline.
    blendColor(
      C.neckShadow,
      0.75 * (1 - smoothstep(neckTop + 40, neckTop + 78, y + p.pitch * 6 - jaw * 0.8)),
    );
    blendColor(C.neckShadow, 0.35 * smoothstep(nly + 10, nly + 32, y));
    return cov(d);
  });
  // Collar trim around the lower half of the neckline.
  paint([256 - 60, nly - 10, 256 + 60, nly + 44], (x, y) => {
    const d = Math.abs(necklineSd(x, y) - 2.6) - 2.6;
    setColor(C.collar);
    return cov(Math.max(d, shirtSd(x, y) + 1));
  });

  // --- Hair (back layer) -----------------------------------------------------------------
  paint(headBox(HEAD_X - 130, HEAD_Y - 145, HEAD_X + 130, HEAD_Y + 80), (x, y) => {
    const lx = toLX(x, y) - HEAD_X + fdx * 0.3;
    const ly = toLY(x, y) - HEAD_Y;
    const d = hairSd(lx, ly);
    if (d > 1) return 0;
    mixColor(C.hairDark, C.hair, 0.35);
    return cov(d);
  });

  // --- Head ------------------------------------------------------------------------------
  paint(headBox(HEAD_X - 110, HEAD_Y - 124, HEAD_X + 110, HEAD_Y + 145), (x, y) => {
    const lx = toLX(x, y) - HEAD_X;
    const ly = toLY(x, y) - HEAD_Y;
    const d = headSd(lx, ly, jaw);
    if (d > 1) return 0;
    skinColor(lx - fdx * 0.5, ly, d);
    return cov(d);
  });

  // Cheek blush: the cheeks stretch down and in as the jaw drops, and a soft shadow beside the
  // mouth corners deepens, so an open mouth moves the whole lower face.
  const o0 = p.mouthOpen ** 2;
  for (const s of [-1, 1]) {
    const bx = HEAD_X + s * (60 - 4 * o0) + fdx;
    const by = 283 + fdy + jaw * 0.35;
    const brx = 24 * (1 - 0.12 * o0);
    const bry = 14 * (1 + 0.3 * o0);
    paint(headBox(bx - 30, by - 24, bx + 30, by + 24), (x, y) => {
      const dx = (toLX(x, y) - bx) / brx;
      const dy = (toLY(x, y) - by) / bry;
      setColor(C.blush);
      return 0.3 * Math.exp(-2 * (dx * dx + dy * dy));
    });
    if (o0 > 0) {
      const cx = HEAD_X + s * (MOUTH_HW + 13) + fdx * 1.1;
      const cy = MOUTH_Y + fdy + jaw * 0.3;
      paint(headBox(cx - 14, cy - 22, cx + 14, cy + 22), (x, y) => {
        const dx = (toLX(x, y) - cx) / 5;
        const dy = (toLY(x, y) - cy) / 13;
        setColor(C.skinShadow);
        return 0.3 * o0 * Math.exp(-2 * (dx * dx + dy * dy));
      });
    }
  }

  // --- Eyes --------------------------------------------------------------------------------
  const closure = clamp01(0.14 - 0.05 * (p.brow / 5) + 0.86 * p.blink);
  for (const s of [-1, 1]) {
    const ex0 = HEAD_X + s * EYE_DX + fdx;
    const ey0 = EYE_Y + fdy;
    // Shared eye geometry: u in [-1,1] across the eye (outer corner at u=+1 for both eyes).
    const geom = (lx: number) => {
      const u = (s * lx) / EYE_RX;
      const q = Math.max(0, 1 - u * u);
      const tilt = -1.2 * u; // outer corner slightly higher
      const top = -15 * q ** 0.55 + tilt;
      const bot = 11 * q ** 0.6 + tilt * 0.6;
      return { u, q, top, bot, lid: top + closure * (bot - top) };
    };
    const box = headBox(ex0 - EYE_RX - 6, ey0 - 26, ex0 + EYE_RX + 6, ey0 + 16);
    // Eyeball: sclera, iris, pupil, highlights, clipped to almond and upper lid.
    paint(box, (x, y) => {
      const lx = toLX(x, y) - ex0;
      const ly = toLY(x, y) - ey0;
      const g = geom(lx);
      const dEye = Math.max(g.top - ly, ly - g.bot, Math.abs(lx) - EYE_RX);
      const a = Math.min(cov(dEye), cov(g.lid - ly));
      if (a <= 0) return 0;
      setColor(C.sclera);
      blendColor(C.scleraShadow, 0.35 * smoothstep(0.5, 1, Math.abs(g.u)));
      const ix = lx - p.gazeX;
      const iy = ly - p.gazeY - 0.5;
      const r = Math.hypot(ix, iy);
      const ia = cov(r - 12.5);
      if (ia > 0) {
        const t = clamp01(r / 12.5);
        const inner = C.irisInner;
        const low = clamp01(iy / 11);
        const ir = mix(mix(inner[0], C.irisLow[0], low), C.irisOuter[0], t * t);
        const ig = mix(mix(inner[1], C.irisLow[1], low), C.irisOuter[1], t * t);
        const ib = mix(mix(inner[2], C.irisLow[2], low), C.irisOuter[2], t * t);
        cr = mix(cr, ir, ia);
        cg = mix(cg, ig, ia);
        cb = mix(cb, ib, ia);
        blendColor(C.pupil, cov(r - 6));
      }
      // Shadow of the upper lid on the eyeball.
      blendColor(C.scleraShadow, 0.55 * (1 - smoothstep(0, 5, ly - g.lid)));
      blendColor(C.irisOuter, 0.25 * (1 - smoothstep(0, 3, ly - g.lid)));
      // Highlights (follow the iris).
      blendColor(C.sclera, cov(Math.hypot(ix - 4.2, iy + 4.4) - 3.3));
      blendColor(C.sclera, 0.75 * cov(Math.hypot(ix + 3.8, iy - 4) - 1.5));
      return a;
    });
    // Lower lid line (soft), crease above the eye, and upper lash line along the lid edge.
    paint(box, (x, y) => {
      const lx = toLX(x, y) - ex0;
      const ly = toLY(x, y) - ey0;
      const g = geom(lx);
      const lower =
        cov(Math.abs(ly - g.bot - 0.6) - 0.55) * 0.35 * smoothstep(1, 0.6, Math.abs(g.u));
      const crease = cov(Math.abs(ly - (g.top * (1 - 0.25 * p.blink) - 5.5)) - 0.6) * 0.3;
      const creaseA = crease * smoothstep(0.95, 0.5, Math.abs(g.u));
      // Lash line along the lid edge: thicker toward the outer corner, rounded ends.
      const th = 1.1 + 1.1 * clamp01((g.u + 0.3) / 1.3);
      const lashD = Math.max(
        Math.abs(ly - (g.lid - th + 0.4)) - th,
        Math.abs(g.u) * EYE_RX - EYE_RX - 1,
      );
      const lash = cov(lashD);
      const a = Math.max(lower, creaseA, lash);
      if (a <= 0) return 0;
      if (lash >= Math.max(lower, creaseA)) setColor(C.lash);
      else setColor(C.skinShadow);
      return a;
    });
    // Eyebrow.
    const bx0 = HEAD_X + s * (EYE_DX + 1) + fdx;
    const by0 = BROW_Y + fdy * 0.8 - p.brow;
    paint(headBox(bx0 - 26, by0 - 14, bx0 + 26, by0 + 10), (x, y) => {
      const lx = toLX(x, y) - bx0;
      const ly = toLY(x, y) - by0;
      const u = (s * lx) / 22;
      if (u < -1.1 || u > 1.1) return 0;
      const yc = -5.5 * (1 - (u - 0.15) ** 2) + 1.5 * u;
      const taper = Math.sqrt(clamp01((1 - Math.abs(u)) / 0.25));
      const half = (2.9 - 1.1 * clamp01((u + 1) / 2)) * taper;
      setColor(C.brow);
      return cov(Math.abs(ly - yc) - half) * 0.95;
    });
  }

  // --- Nose --------------------------------------------------------------------------------
  const nx0 = HEAD_X + fdx * 1.4;
  const ny0 = NOSE_Y + fdy * 1.1;
  paint(headBox(nx0 - 16, ny0 - 36, nx0 + 16, ny0 + 8), (x, y) => {
    const lx = toLX(x, y) - nx0;
    const ly = toLY(x, y) - ny0;
    // Small smile-shaped underside of the nose plus a faint shadow along the bridge.
    const u = lx / 9;
    const curve = Math.abs(ly - 2.2 * u * u) - 1.1;
    const under = Math.abs(u) < 1.25 ? cov(curve) * 0.55 * smoothstep(1.25, 0.5, Math.abs(u)) : 0;
    const bridge =
      0.12 * Math.exp(-(((lx + 6) / 3.5) ** 2)) * smoothstep(-34, -10, ly) * smoothstep(2, -4, ly);
    const tip = 0.25 * Math.exp(-((lx / 4) ** 2 + ((ly + 6) / 3) ** 2));
    if (tip > under && tip > bridge) {
      setColor(C.skinLight);
      return tip;
    }
    setColor(C.skinShadow);
    return Math.max(under, bridge);
  });

  // --- Mouth -------------------------------------------------------------------------------
  const mx0 = HEAD_X + fdx * 1.1;
  const my0 = MOUTH_Y + fdy + jaw * 0.25;
  const mhw = MOUTH_HW * p.mouthWidth * (1 - 0.12 * p.mouthOpen);
  const o = p.mouthOpen;
  const openUp = 5 * o;
  const openDown = 22 * o;
  const mouthShape = (lx: number) => {
    const u = lx / mhw;
    const q = Math.max(0, 1 - u * u);
    const c = -p.smile * u * u + p.smile * 0.25;
    return { u, q, up: c - openUp * q ** 0.7, down: c + openDown * q ** 0.85, c };
  };
  paint(headBox(mx0 - mhw - 8, my0 - 14, mx0 + mhw + 8, my0 + 30), (x, y) => {
    const lx = toLX(x, y) - mx0;
    const ly = toLY(x, y) - my0;
    const m = mouthShape(lx);
    if (Math.abs(m.u) > 1.35) return 0;
    // Lips: a soft rose tint above and below the opening.
    const lipU = m.up - 3.2 * m.q ** 0.5;
    const lipD = m.down + (4.6 + 1.2 * o) * m.q ** 0.6;
    const lipA = cov(Math.max(lipU - ly, ly - lipD, Math.abs(lx) - mhw)) * 0.55;
    // Opening (dilated by ~1px so a closed mouth shows as a soft line).
    const lineHalf = 0.75 + 0.45 * m.q ** 0.4;
    const dOpen = Math.max(m.up - ly, ly - m.down, Math.abs(lx) - mhw) - lineHalf;
    const openA = cov(dOpen);
    if (openA <= 0 && lipA <= 0) return 0;
    // Opening colour: a soft line when (nearly) closed, a dark interior with teeth and tongue.
    const gap = m.down - m.up;
    const inner = smoothstep(1.5, 5, gap);
    mixColor(C.mouthLine, C.mouthIn, inner);
    if (inner > 0) {
      blendColor(C.mouthInDeep, inner * smoothstep(m.up + 10, m.up + 2, ly) * 0.6);
      // Upper teeth.
      const tu = Math.abs(m.u) / 0.62;
      const teethBottom = m.up + 0.8 + 3.4 * Math.sqrt(Math.max(0, 1 - tu * tu));
      const teethA = cov(Math.max(ly - teethBottom, (tu - 1) * mhw * 0.62));
      blendColor(C.teeth, teethA * smoothstep(3, 9, gap) * 0.92);
      blendColor(C.mouthLine, teethA * 0.25 * (1 - smoothstep(m.up, m.up + 2.5, ly)));
      // Tongue.
      const tA = cov(ellipseSd(lx, ly - (m.down - 1.5), mhw * 0.62, 3 + 4 * o));
      blendColor(C.tongue, tA * smoothstep(6, 12, gap));
    }
    // Composite "opening over lips" into a single colour + alpha.
    const or = cr;
    const og = cg;
    const ob = cb;
    mixColor(C.lipUpper, C.lipLower, smoothstep(m.c - 1, m.c + 1, ly));
    const a = openA + lipA * (1 - openA);
    const k = openA / a;
    cr = mix(cr, or, k);
    cg = mix(cg, og, k);
    cb = mix(cb, ob, k);
    return a;
  });

  // --- Hair (front: everything outside the face window) ----------------------------------
  paint(headBox(HEAD_X - 130, HEAD_Y - 145, HEAD_X + 130, HEAD_Y + 80), (x, y) => {
    const lx = toLX(x, y) - HEAD_X;
    const ly = toLY(x, y) - HEAD_Y;
    const hx = lx + fdx * 0.6;
    const d = Math.max(hairSd(lx + fdx * 0.3, ly), -faceWindowSd(hx, ly));
    if (d > 1) return 0;
    // Sheen: a soft lighter band across the crown, darker toward the edges.
    const nx = lx / 121;
    const ny = (ly + 6) / 132;
    const r = Math.hypot(nx, ny);
    const sheen = Math.exp(-(((r - 0.72) / 0.1) ** 2)) * smoothstep(0.3, -0.6, ny) * 0.55;
    mixColor(C.hair, C.hairLight, sheen * (0.6 - 0.4 * nx));
    // Fine strands sweeping down to the left (rays from a point far above the right side).
    const ang = Math.atan2(ly + 300, lx - 150);
    const strands = Math.sin(ang * 150 + Math.sin(ang * 19) * 2);
    blendColor(strands > 0 ? C.hairLight : C.hairDark, 0.09 * strands * strands);
    blendColor(C.hairDark, 0.55 * (1 - smoothstep(0, 14, -d)) * smoothstep(-0.8, 0.2, ny));
    return cov(d);
  });

  // Float -> RGB24.
  for (let i = 0, n = W * H * 3; i < n; i++) {
    out[i] = Math.max(0, Math.min(255, buf[i]! * 255 + 0.5));
  }
}

buildBackground();

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

function fail(message: string): never {
  process.stderr.write(`make-default-avatar: ${message}\n`);
  process.exit(1);
}

function findFfmpeg(): string {
  const bin = process.env.FFMPEG_PATH || 'ffmpeg';
  const probe = spawnSync(bin, ['-hide_banner', '-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    fail(`ffmpeg not found or not runnable (${bin}); install it or set FFMPEG_PATH`);
  }
  return bin;
}

async function encodeClip(ffmpeg: string, poses: Pose[], outFile: string): Promise<number> {
  const tmp = path.join(path.dirname(outFile), `.${path.basename(outFile)}.${process.pid}.tmp`);
  // mbtree=0: the first frame is then encoded from its own content only, so frame 0 of both clips
  // (the same neutral pose) decodes bit-identically and a cut between the clips is invisible.
  // crf 16 (not 20): less coding noise between the two clips' otherwise identical frames, so the
  // server's idle<->speaking cuts measure closer to a natural frame step (bench/naturalness.ts).
  // biome-ignore format: keep the ffmpeg command readable
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${SIZE}x${SIZE}`, '-framerate', String(FPS),
    '-i', 'pipe:0',
    '-an', '-sn', '-dn', '-map_metadata', '-1',
    '-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
    '-c:v', 'libx264', '-preset', 'slow', '-tune', 'animation', '-crf', '16', '-g', '50',
    '-x264-params', 'mbtree=0',
    '-pix_fmt', 'yuv420p', '-r', String(FPS),
    '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
    '-movflags', '+faststart', '-f', 'mp4', tmp,
  ];
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  let pipeError: Error | undefined;
  const exited = new Promise<number>((resolve) => {
    child.on('error', (err) => {
      pipeError ??= err;
      resolve(-1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
  child.stdin.on('error', (err) => {
    pipeError ??= err;
  });
  const onSignal = () => {
    child.kill('SIGKILL');
    rmSync(tmp, { force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    for (const pose of poses) {
      if (pipeError || child.exitCode !== null) break;
      const frame = Buffer.allocUnsafe(SIZE * SIZE * 3);
      renderFrame(pose, frame);
      if (!child.stdin.write(frame)) {
        // Backpressure: wait until ffmpeg has consumed the buffered frames (or has gone away).
        await new Promise<void>((resolve) => {
          const done = () => {
            child.stdin.off('drain', done);
            child.stdin.off('error', done);
            resolve();
          };
          child.stdin.on('drain', done);
          child.stdin.on('error', done);
          void exited.then(done);
        });
      }
    }
    child.stdin.end();
    const code = await exited;
    if (code !== 0 || pipeError) {
      const last = stderr.trim().split('\n').pop() || pipeError?.message || `exit code ${code}`;
      throw new Error(`ffmpeg failed for ${path.basename(outFile)}: ${last}`);
    }
    renameSync(tmp, outFile);
    return statSync(outFile).size;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  const ffmpeg = findFfmpeg();
  const here = path.dirname(fileURLToPath(import.meta.url));
  const outDir = path.join(here, 'default');
  mkdirSync(outDir, { recursive: true });
  const clips: [string, Pose[]][] = [
    ['idle.mp4', idleTimeline()],
    ['speaking.mp4', speakingTimeline()],
  ];
  for (const [name, poses] of clips) {
    const started = Date.now();
    const size = await encodeClip(ffmpeg, poses, path.join(outDir, name));
    const rel = path.relative(process.cwd(), path.join(outDir, name)) || name;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `${rel}: ${(size / 1024).toFixed(0)} KiB (${SIZE}x${SIZE}, ${FPS} fps, ${FRAMES} frames, ${secs}s)`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
}
