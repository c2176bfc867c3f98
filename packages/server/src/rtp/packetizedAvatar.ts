import { mediaLogger } from '../lib/logger.js';
import { type CompiledAvatar, LOOP_NAMES, type LoopName } from '../media/compiledAvatar.js';
import { packetizeAccessUnit } from './h264Packetizer.js';
import { type SharedAvatar, shareAvatar } from './sharedAvatar.js';

/** One picture, ready to send: RTP payloads in order (the last one carries the marker bit). */
export type PacketizedFrame = {
  payloads: readonly Buffer[];
  keyframe: boolean;
  /** Frame index within its loop. */
  frame: number;
  /** Sum of the payloads' sizes, for bitrate accounting. */
  bytes: number;
};

export type PacketizedLoop = {
  frameCount: number;
  keyframeInterval: number;
  main: readonly PacketizedFrame[];
  chains: readonly (readonly PacketizedFrame[])[];
};

/** A compiled avatar with every access unit packetized once, shared by all its sessions. */
export type PacketizedAvatar = {
  id: string;
  fps: number;
  size: number;
  loops: Record<LoopName, PacketizedLoop>;
  /** cuts[loop][i]: the frame of the other loop to show right after frame i (see analysis/). */
  cuts: Record<LoopName, readonly number[]>;
  /** cutRatios[loop][i]: how visible that cut is; lower is better. */
  cutRatios: Record<LoopName, readonly number[]>;
  /** The same avatar as media workers receive it: payloads in one SharedArrayBuffer. */
  shared?: SharedAvatar;
};

export function packetizeAvatar(avatar: CompiledAvatar, maxPayload: number): PacketizedAvatar {
  const loops = {} as Record<LoopName, PacketizedLoop>;
  for (const name of LOOP_NAMES) {
    const loop = avatar.loops[name];
    const frame = (au: (typeof loop.main)[number], index: number): PacketizedFrame => {
      const payloads = packetizeAccessUnit(au.slices, au.keyframe, avatar, maxPayload);
      return {
        payloads,
        keyframe: au.keyframe,
        frame: index,
        bytes: payloads.reduce((n, p) => n + p.length, 0),
      };
    };
    loops[name] = {
      frameCount: loop.frameCount,
      keyframeInterval: loop.keyframeInterval,
      main: loop.main.map((au, i) => frame(au, i)),
      chains: loop.chains.map((chain, j) => chain.map((au, k) => frame(au, j + k))),
    };
  }
  const log = mediaLogger('rtp');
  if (log.isLevelEnabled('debug')) {
    // What every session of this avatar will send: packets per frame, and the largest payload.
    let frames = 0;
    let packets = 0;
    let largest = 0;
    for (const name of LOOP_NAMES) {
      for (const f of [...loops[name].main, ...loops[name].chains.flat()]) {
        frames++;
        packets += f.payloads.length;
        for (const p of f.payloads) largest = Math.max(largest, p.length);
      }
    }
    log.debug(
      { avatar: avatar.id, frames, packets, largestPayload: largest, maxPayload },
      'avatar packetized',
    );
  }
  // Payloads in shared memory from the start: every media worker reads these same bytes.
  return shareAvatar({
    id: avatar.id,
    fps: avatar.fps,
    size: avatar.size,
    loops,
    cuts: avatar.cuts,
    cutRatios: avatar.cutRatios,
  }).avatar;
}
