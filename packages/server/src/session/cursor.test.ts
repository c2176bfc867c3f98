import { describe, expect, it } from 'vitest';
import type { PacketizedAvatar, PacketizedFrame, PacketizedLoop } from '../rtp/packetizedAvatar.js';
import { advance, type Cursor, enterAt, frameAt } from './cursor.js';

/** A loop shaped like the compiler's output (payload-free): main chain plus switch-in chains. */
function loop(frameCount: number, keyframeInterval: number): PacketizedLoop {
  const frame = (i: number, keyframe: boolean): PacketizedFrame => ({
    payloads: [],
    keyframe,
    frame: i,
    bytes: 0,
  });
  const main = Array.from({ length: frameCount }, (_, i) => frame(i, i % keyframeInterval === 0));
  const chains = main.map((_, j) => {
    if (j % keyframeInterval === 0) return [];
    const end = Math.min((Math.floor(j / keyframeInterval) + 1) * keyframeInterval, frameCount);
    return Array.from({ length: end - j }, (_, k) => frame(j + k, k === 0));
  });
  return { frameCount, keyframeInterval, main, chains };
}

const avatar: PacketizedAvatar = {
  id: 't',
  fps: 25,
  size: 64,
  loops: { idle: loop(23, 5), speaking: loop(17, 5) },
  cuts: { idle: [], speaking: [] },
  cutRatios: { idle: [], speaking: [] },
};

describe('cursor', () => {
  it('enters every frame of both loops at a keyframe, then plays every frame in order around the loop', () => {
    for (const name of ['idle', 'speaking'] as const) {
      const { frameCount } = avatar.loops[name];
      for (let j = 0; j < frameCount; j++) {
        let cursor: Cursor = enterAt(avatar, name, j);
        expect(frameAt(avatar, cursor)).toMatchObject({ frame: j, keyframe: true });
        for (let step = 1; step <= frameCount + 3; step++) {
          cursor = advance(avatar, cursor);
          expect(frameAt(avatar, cursor).frame).toBe((j + step) % frameCount);
        }
        expect(cursor.chain).toBe(-1); // every chain rejoins the main chain
      }
    }
  });

  it('leaves a switch-in chain exactly at the next main keyframe, and wraps the short last GOP', () => {
    let cursor = enterAt(avatar, 'idle', 21); // last GOP: 20, 21, 22
    expect(cursor.chain).toBe(21);
    cursor = advance(avatar, cursor);
    expect(cursor).toEqual({ loop: 'idle', chain: 21, frame: 22 });
    cursor = advance(avatar, cursor);
    expect(cursor).toEqual({ loop: 'idle', chain: -1, frame: 0 });
    expect(enterAt(avatar, 'speaking', 17 + 3)).toEqual({ loop: 'speaking', chain: 3, frame: 3 });
  });
});
