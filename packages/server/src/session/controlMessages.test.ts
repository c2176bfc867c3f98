import { describe, expect, it } from 'vitest';
import type { PacketizedAvatar, PacketizedFrame } from '../rtp/packetizedAvatar.js';
import { handleControlMessage } from './controlMessages.js';
import { FrameClock } from './frameClock.js';
import { Session } from './Session.js';

const frame = (i: number): PacketizedFrame => ({
  payloads: [Buffer.from([i])],
  keyframe: true,
  frame: i,
  bytes: 1,
});
const loop = (n: number) => ({
  frameCount: n,
  keyframeInterval: 1,
  main: Array.from({ length: n }, (_, i) => frame(i)),
  chains: Array.from({ length: n }, () => []),
});
const avatar: PacketizedAvatar = {
  id: 't',
  fps: 25,
  size: 64,
  loops: { idle: loop(4), speaking: loop(4) },
  cuts: { idle: [0, 1, 2, 3], speaking: [0, 1, 2, 3] },
  cutRatios: { idle: [1, 1, 1, 1], speaking: [1, 1, 1, 1] },
};

function session() {
  return new Session(avatar, new FrameClock(25), { ready: false, send() {} });
}

describe('control messages', () => {
  it('answers a speaking request with its id', async () => {
    const reply = await handleControlMessage(
      session(),
      '{"type":"speaking","speaking":true,"id":7}',
    );
    expect(reply).toMatchObject({ type: 'speaking', id: 7, speaking: true, loop: 'speaking' });
  });

  it('keeps the request id on an error reply, so the client learns the reason at once', async () => {
    const ended = session();
    ended.close('deleted by client');
    const reply = await handleControlMessage(ended, '{"type":"speaking","speaking":true,"id":9}');
    expect(reply).toMatchObject({ type: 'error', id: 9 });
    expect((reply as { detail: string }).detail).toMatch(/session/);
    const unknown = await handleControlMessage(session(), '{"type":"dance","id":3}');
    expect(unknown).toMatchObject({ type: 'error', id: 3 });
  });
});
