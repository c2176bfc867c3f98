import type { LoopName } from '../media/compiledAvatar.js';
import type { PacketizedAvatar, PacketizedFrame } from '../rtp/packetizedAvatar.js';

/**
 * Where a session is in the compiled avatar: which loop, which chain (-1 = the main chain, j =
 * the switch-in chain that starts with an IDR at frame j) and which frame it sends next.
 */
export type Cursor = { loop: LoopName; chain: number; frame: number };

/** A cursor on the keyframe version of `frame` in `loop`: decoding can start there. */
export function enterAt(avatar: PacketizedAvatar, loop: LoopName, frame: number): Cursor {
  const { frameCount, keyframeInterval } = avatar.loops[loop];
  const j = ((frame % frameCount) + frameCount) % frameCount;
  return { loop, chain: j % keyframeInterval === 0 ? -1 : j, frame: j };
}

/** The picture the cursor points at. */
export function frameAt(avatar: PacketizedAvatar, cursor: Cursor): PacketizedFrame {
  const loop = avatar.loops[cursor.loop];
  const frame =
    cursor.chain < 0
      ? loop.main[cursor.frame]
      : loop.chains[cursor.chain]?.[cursor.frame - cursor.chain];
  if (!frame) throw new Error(`cursor out of range: ${JSON.stringify(cursor)}`);
  return frame;
}

/**
 * The cursor after sending its picture. A switch-in chain ends just before the main chain's next
 * keyframe, so leaving a chain always lands on a main-chain IDR: the splice is decodable. The main
 * chain wraps from the last frame to frame 0, which is an IDR.
 */
export function advance(avatar: PacketizedAvatar, cursor: Cursor): Cursor {
  const loop = avatar.loops[cursor.loop];
  const next = cursor.frame + 1;
  if (next >= loop.frameCount) return { loop: cursor.loop, chain: -1, frame: 0 };
  if (cursor.chain >= 0 && next % loop.keyframeInterval === 0) {
    return { loop: cursor.loop, chain: -1, frame: next };
  }
  return { loop: cursor.loop, chain: cursor.chain, frame: next };
}
