import type { LoopName } from '../media/compiledAvatar.js';
import type { PacketizedAvatar, PacketizedFrame, PacketizedLoop } from './packetizedAvatar.js';

/**
 * A packetized avatar in a form that crosses to a media worker without copying its payloads:
 * every RTP payload lives in one SharedArrayBuffer (`bytes`), and `frames` says where, as flat
 * numbers. A worker rebuilds the avatar with Buffer views into that memory (`fromShared`), so the
 * megabytes of video are held once per process however many workers send them; only the small
 * index is copied.
 */
export type SharedAvatar = {
  id: string;
  fps: number;
  size: number;
  bytes: SharedArrayBuffer;
  /** Per loop: main-chain frames, then the entry chains as [start, length] into the same list. */
  loops: Record<LoopName, SharedLoop>;
  cuts: PacketizedAvatar['cuts'];
  cutRatios: PacketizedAvatar['cutRatios'];
};

type SharedLoop = {
  frameCount: number;
  keyframeInterval: number;
  main: SharedFrame[];
  chains: SharedFrame[][];
};

/** `parts`: offset, length pairs of the payloads in `bytes`. */
type SharedFrame = { keyframe: boolean; frame: number; bytes: number; parts: number[] };

/**
 * Packs the payloads of `avatar` into one SharedArrayBuffer and returns the avatar rebuilt over it
 * (so the front thread, too, holds the payloads only there) together with its shareable form.
 */
export function shareAvatar(avatar: PacketizedAvatar): {
  avatar: PacketizedAvatar;
  shared: SharedAvatar;
} {
  const frames = Object.values(avatar.loops).flatMap((loop) => [
    ...loop.main,
    ...loop.chains.flat(),
  ]);
  const total = frames.reduce((n, f) => n + f.bytes, 0);
  const bytes = new SharedArrayBuffer(total);
  const view = new Uint8Array(bytes);
  let at = 0;
  const pack = (f: PacketizedFrame): SharedFrame => {
    const parts: number[] = [];
    for (const payload of f.payloads) {
      view.set(payload, at);
      parts.push(at, payload.length);
      at += payload.length;
    }
    return { keyframe: f.keyframe, frame: f.frame, bytes: f.bytes, parts };
  };
  const loops = {} as Record<LoopName, SharedLoop>;
  for (const [name, loop] of Object.entries(avatar.loops) as Array<[LoopName, PacketizedLoop]>) {
    loops[name] = {
      frameCount: loop.frameCount,
      keyframeInterval: loop.keyframeInterval,
      main: loop.main.map(pack),
      chains: loop.chains.map((chain) => chain.map(pack)),
    };
  }
  const shared: SharedAvatar = {
    id: avatar.id,
    fps: avatar.fps,
    size: avatar.size,
    bytes,
    loops,
    cuts: avatar.cuts,
    cutRatios: avatar.cutRatios,
  };
  return { avatar: fromShared(shared), shared };
}

/** The avatar over the shared memory: each payload a Buffer view into `shared.bytes`, no copy. */
export function fromShared(shared: SharedAvatar): PacketizedAvatar {
  const frame = (f: SharedFrame): PacketizedFrame => {
    const payloads: Buffer[] = [];
    for (let i = 0; i < f.parts.length; i += 2) {
      payloads.push(Buffer.from(shared.bytes, f.parts[i]!, f.parts[i + 1]!));
    }
    return { payloads, keyframe: f.keyframe, frame: f.frame, bytes: f.bytes };
  };
  const loops = {} as Record<LoopName, PacketizedLoop>;
  for (const [name, loop] of Object.entries(shared.loops) as Array<[LoopName, SharedLoop]>) {
    loops[name] = {
      frameCount: loop.frameCount,
      keyframeInterval: loop.keyframeInterval,
      main: loop.main.map(frame),
      chains: loop.chains.map((chain) => chain.map(frame)),
    };
  }
  return {
    id: shared.id,
    fps: shared.fps,
    size: shared.size,
    loops,
    cuts: shared.cuts,
    cutRatios: shared.cutRatios,
    shared,
  };
}
