import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessUnit } from './annexB.js';
import {
  type CompiledAvatar,
  type CompiledLoop,
  LOOP_NAMES,
  type LoopName,
} from './compiledAvatar.js';
import { nextMainKeyframe } from './entryPlan.js';

/**
 * The disk cache of compiled avatars: one file per avatar, named by a hash of the clips' bytes
 * and of every setting that changes the output, so a second start with unchanged inputs compiles
 * nothing and a changed clip or setting never reuses a stale compile.
 *
 * File layout: 8-byte magic, uint32 manifest length, the JSON manifest, then every NAL unit's
 * bytes back to back. The manifest carries a SHA-256 of that body: a damaged file is a miss.
 */

const MAGIC = Buffer.from('AVTRLOOP');
/** Bump when the compiler's output for the same inputs changes. */
export const COMPILER_VERSION = 3;

/** [keyframe ? 1 : 0, ...byte length of each slice NAL] */
type AuEntry = number[];
type LoopManifest = {
  frameCount: number;
  keyframeInterval: number;
  main: AuEntry[];
  chains: AuEntry[][];
};
type Manifest = {
  compilerVersion: number;
  id: string;
  size: number;
  fps: number;
  encoder: CompiledAvatar['encoder'];
  spsLength: number;
  ppsLength: number;
  loops: Record<LoopName, LoopManifest>;
  cuts: CompiledAvatar['cuts'];
  cutRatios: CompiledAvatar['cutRatios'];
  analysis: CompiledAvatar['analysis'];
  /** SHA-256 of this manifest (with this field empty) followed by the body. */
  sha256: string;
};

function checksum(manifest: Manifest, body: Uint8Array): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...manifest, sha256: '' }))
    .update(body)
    .digest('hex');
}

/**
 * Hash of the input clips' bytes and of everything that shapes the output (settings, the encoder
 * command line, the ffmpeg build); the cache file name. Clips are hashed as streams.
 */
export async function cacheKey(
  clips: readonly string[],
  inputs: Record<string, unknown>,
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ compilerVersion: COMPILER_VERSION, inputs }));
  for (const clip of clips) {
    hash.update('\0clip\0');
    for await (const chunk of createReadStream(clip)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, 32);
}

function cachePath(dir: string, key: string) {
  return join(dir, `${key}.avatar`);
}

function serialize(avatar: CompiledAvatar): Buffer {
  const body: Uint8Array[] = [avatar.sps, avatar.pps];
  const entry = (au: AccessUnit): AuEntry => {
    body.push(...au.slices);
    return [au.keyframe ? 1 : 0, ...au.slices.map((s) => s.length)];
  };
  const loops = {} as Record<LoopName, LoopManifest>;
  for (const name of LOOP_NAMES) {
    const loop = avatar.loops[name];
    loops[name] = {
      frameCount: loop.frameCount,
      keyframeInterval: loop.keyframeInterval,
      main: loop.main.map(entry),
      chains: loop.chains.map((chain) => chain.map(entry)),
    };
  }
  const bodyBuffer = Buffer.concat(body);
  const manifest: Manifest = {
    compilerVersion: COMPILER_VERSION,
    id: avatar.id,
    size: avatar.size,
    fps: avatar.fps,
    encoder: avatar.encoder,
    spsLength: avatar.sps.length,
    ppsLength: avatar.pps.length,
    loops,
    cuts: avatar.cuts,
    cutRatios: avatar.cutRatios,
    analysis: avatar.analysis,
    sha256: '',
  };
  manifest.sha256 = checksum(manifest, bodyBuffer);
  const json = Buffer.from(JSON.stringify(manifest));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, length, json, bodyBuffer]);
}

function deserialize(file: Buffer): CompiledAvatar | null {
  if (file.length < 12 || !file.subarray(0, 8).equals(MAGIC)) return null;
  const jsonLength = file.readUInt32BE(8);
  const manifest = JSON.parse(file.subarray(12, 12 + jsonLength).toString('utf8')) as Manifest;
  if (manifest.compilerVersion !== COMPILER_VERSION) return null;
  const body = file.subarray(12 + jsonLength);
  if (checksum(manifest, body) !== manifest.sha256) return null;
  let offset = 0;
  const take = (n: number) => {
    const bytes = body.subarray(offset, offset + n);
    offset += n;
    return bytes;
  };
  const sps = take(manifest.spsLength);
  const pps = take(manifest.ppsLength);
  const au = ([key, ...lengths]: AuEntry): AccessUnit => ({
    keyframe: key === 1,
    slices: lengths.map(take),
  });
  const loops = {} as Record<LoopName, CompiledLoop>;
  for (const name of LOOP_NAMES) {
    const m = manifest.loops[name];
    loops[name] = {
      frameCount: m.frameCount,
      keyframeInterval: m.keyframeInterval,
      main: m.main.map(au),
      chains: m.chains.map((chain) => chain.map(au)),
    };
  }
  if (offset !== body.length || !LOOP_NAMES.every((name) => wellFormed(loops[name]))) return null;
  if (sps.length === 0 || pps.length === 0) return null;
  const { id, size, fps, encoder, cuts, cutRatios, analysis } = manifest;
  for (const name of LOOP_NAMES) {
    const targets = loops[name === 'idle' ? 'speaking' : 'idle'].frameCount;
    if (cuts[name]?.length !== loops[name].frameCount) return null;
    if (!cuts[name].every((j) => Number.isInteger(j) && j >= 0 && j < targets)) return null;
    if (cutRatios[name]?.length !== loops[name].frameCount) return null;
  }
  return { id, size, fps, encoder, sps, pps, loops, cuts, cutRatios, analysis };
}

/** The shape the cursor relies on: a keyframe where an entry point starts, chains that end on time. */
function wellFormed(loop: CompiledLoop): boolean {
  const G = loop.keyframeInterval;
  if (loop.frameCount < 1 || G < 1 || loop.main.length !== loop.frameCount) return false;
  if (loop.chains.length !== loop.frameCount) return false;
  return loop.main.every((au, i) => {
    const chain = loop.chains[i]!;
    if (au.slices.length === 0 || au.keyframe !== (i % G === 0)) return false;
    if (i % G === 0) return chain.length === 0;
    return (
      chain.length === nextMainKeyframe(i, G, loop.frameCount) - i &&
      chain.every((c, k) => c.slices.length > 0 && c.keyframe === (k === 0))
    );
  });
}

/** The cached compile for `key`, or null when absent, from another compiler version, or damaged. */
export async function readCachedAvatar(dir: string, key: string): Promise<CompiledAvatar | null> {
  let file: Buffer;
  try {
    file = await readFile(cachePath(dir, key));
  } catch {
    return null;
  }
  // A load counts as a use: cacheMaxMb prunes the least recently used files (pruneCache.ts).
  const now = new Date();
  await utimes(cachePath(dir, key), now, now).catch(() => {});
  try {
    return deserialize(file);
  } catch {
    return null;
  }
}

/** Writes atomically: a temporary file in the same folder, then a rename over the final name. */
export async function writeCachedAvatar(dir: string, key: string, avatar: CompiledAvatar) {
  await mkdir(dir, { recursive: true });
  const final = cachePath(dir, key);
  const temporary = `${final}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, serialize(avatar));
    await rename(temporary, final);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
