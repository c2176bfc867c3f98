import { describe, expect, it } from 'vitest';
import type { PacketizedAvatar, PacketizedFrame, PacketizedLoop } from '../rtp/packetizedAvatar.js';
import { FrameClock, type TimeSource } from './frameClock.js';
import { Session } from './Session.js';
import type { VideoSender } from './videoSender.js';

/** A loop shaped like the compiler's output; each payload names its loop, frame and chain. */
function loop(name: string, frameCount: number, G: number): PacketizedLoop {
  const frame = (i: number, keyframe: boolean, where: string): PacketizedFrame => ({
    payloads: [Buffer.from(`${name}:${i}:${where}:a`), Buffer.from(`${name}:${i}:${where}:b`)],
    keyframe,
    frame: i,
    bytes: 2,
  });
  const main = Array.from({ length: frameCount }, (_, i) => frame(i, i % G === 0, 'main'));
  const chains = main.map((_, j) => {
    if (j % G === 0) return [];
    const end = Math.min((Math.floor(j / G) + 1) * G, frameCount);
    return Array.from({ length: end - j }, (_, k) => frame(j + k, k === 0, `chain${j}`));
  });
  return { frameCount, keyframeInterval: G, main, chains };
}

const avatar: PacketizedAvatar = {
  id: 't',
  fps: 25,
  size: 64,
  loops: { idle: loop('idle', 20, 5), speaking: loop('speaking', 15, 5) },
  // Cut to the same phase, except that speaking frame 3 is a far better cut after idle frame 8.
  cuts: {
    idle: Array.from({ length: 20 }, (_, i) => (i === 8 ? 3 : (i + 1) % 15)),
    speaking: Array.from({ length: 15 }, (_, i) => (i + 1) % 20),
  },
  cutRatios: {
    idle: Array.from({ length: 20 }, (_, i) => (i === 8 ? 0.5 : 3)),
    speaking: Array.from({ length: 15 }, () => 1),
  },
};

/** Time that moves only when the test says so, firing due timers. */
function manualTime() {
  let now = 0;
  let timer: { at: number; cb: () => void } | null = null;
  const time: TimeSource = {
    now: () => now,
    setTimer(cb, delay) {
      const t = { at: now + delay, cb };
      timer = t;
      return () => {
        if (timer === t) timer = null;
      };
    },
  };
  const advance = (ms: number) => {
    const end = now + ms;
    while (timer && timer.at <= end) {
      const t = timer;
      timer = null;
      now = Math.max(now, t.at);
      t.cb();
    }
    now = end;
  };
  return { time, advance };
}

type Sent = { payload: string; seq: number; ts: number; marker: boolean };

function setup(options: { switchWaitFrames?: number } = {}) {
  const { time, advance } = manualTime();
  const clock = new FrameClock(25, { time });
  const sent: Sent[] = [];
  const sender: VideoSender & { ready: boolean } = {
    ready: true,
    send: (payload, seq, ts, marker) => sent.push({ payload: payload.toString(), seq, ts, marker }),
  };
  const session = new Session(avatar, clock, sender, options);
  clock.onTick((tick) => session.onTick(tick));
  clock.start();
  /** The pictures sent, as "loop:frame:where" with their RTP timestamp. */
  const frames = () =>
    sent.filter((p) => p.marker).map((p) => ({ id: p.payload.slice(0, -2), ts: p.ts }));
  return { clock, session, sender, sent, frames, advance };
}

describe('Session', () => {
  it('sends one frame per tick with continuous sequence numbers and 3600-tick timestamps', () => {
    const { sent, frames, advance } = setup();
    advance(40 * 30); // 31 ticks: wraps the 20-frame loop
    expect(
      frames()
        .map((f) => f.id)
        .slice(0, 3),
    ).toEqual(['idle:0:main', 'idle:1:main', 'idle:2:main']);
    expect(frames()[20]!.id).toBe('idle:0:main');
    for (let i = 1; i < sent.length; i++)
      expect(sent[i]!.seq).toBe((sent[i - 1]!.seq + 1) & 0xffff);
    const f = frames();
    for (let i = 1; i < f.length; i++) expect((f[i]!.ts - f[i - 1]!.ts) >>> 0).toBe(3600);
  });

  it('sends a switch at once as the next tick’s frame, then skips that tick', async () => {
    const { session, frames, advance } = setup();
    advance(40 * 6 + 10); // frames 0..6 sent; next tick (7) due in 30 ms
    const change = await session.setSpeaking(true);
    expect(change).toMatchObject({ speaking: true, loop: 'speaking', frame: 7, tick: 7 });
    expect(frames().at(-1)!.id).toBe('speaking:7:chain7'); // sent before the tick fired
    advance(40 * 4); // tick 7 is skipped, ticks 8–10 send
    const ids = frames().map((f) => f.id);
    expect(ids.slice(7)).toEqual([
      'speaking:7:chain7',
      'speaking:8:chain7',
      'speaking:9:chain7',
      'speaking:10:main',
    ]);
    const f = frames();
    for (let i = 1; i < f.length; i++) expect((f[i]!.ts - f[i - 1]!.ts) >>> 0).toBe(3600);
  });

  it('enters the other loop at the cut the analysis chose for the frame on screen', async () => {
    const { session, frames, advance } = setup();
    advance(40 * 8 + 10); // frames 0..8 sent: idle 8 is on screen
    const change = await session.setSpeaking(true);
    expect(change.frame).toBe(3);
    expect(frames().at(-1)!.id).toBe('speaking:3:chain3');
  });

  it('waits up to switchWaitFrames for a clearly better cut, and no longer', async () => {
    const { session, frames, advance } = setup({ switchWaitFrames: 3 });
    advance(40 * 6 + 10); // idle 6 on screen; idle 8 (two frames on) has the much better cut
    const change = session.setSpeaking(true);
    advance(40 * 3);
    expect((await change).frame).toBe(3);
    expect(
      frames()
        .map((f) => f.id)
        .slice(7, 10),
    ).toEqual(['idle:7:main', 'idle:8:main', 'speaking:3:chain3']);
  });

  it('answers a keyframe request even when a switch was asked for and cancelled in the same tick', async () => {
    const { session, frames, advance } = setup();
    advance(40 * 6 + 10);
    await session.setSpeaking(true); // sent at once for tick 7
    session.requestKeyframe();
    const off = session.setSpeaking(false); // pending until tick 8
    const on = session.setSpeaking(true); // back to the current state: no switch
    advance(80); // tick 7 was already sent; tick 8 carries the pending request
    await Promise.all([off, on]);
    expect(frames().at(-1)!.id).toBe('speaking:8:chain8'); // the keyframe version of frame 8
  });

  it('rejects a change still pending when the session closes', async () => {
    const { session, sender, advance } = setup();
    advance(100);
    sender.ready = false; // connection lost: the change waits
    const change = session.setSpeaking(true);
    session.close('deleted');
    await expect(change).rejects.toThrow(/session ended \(deleted\)/);
  });

  it('applies a change made before the viewer connects to its first frame', async () => {
    const { session, sender, frames, advance } = setup();
    sender.ready = false;
    const change = await session.setSpeaking(true);
    expect(change.tick).toBe(-1);
    sender.ready = true;
    advance(40);
    expect(frames()[0]!.id).toBe('speaking:0:main');
  });
});
