import { describe, expect, it } from 'vitest';
import type { PacketizedAvatar, PacketizedFrame, PacketizedLoop } from '../rtp/packetizedAvatar.js';
import { FrameClock, type TimeSource } from './frameClock.js';
import { Session } from './Session.js';
import { SessionRegistry, type SliceReport } from './SessionRegistry.js';
import type { VideoSender } from './videoSender.js';

function loop(name: string, frameCount: number): PacketizedLoop {
  const main = Array.from(
    { length: frameCount },
    (_, i): PacketizedFrame => ({
      payloads: [Buffer.from(`${name}:${i}:a`), Buffer.from(`${name}:${i}:b`)],
      keyframe: i % 5 === 0,
      frame: i,
      bytes: 2,
    }),
  );
  return { frameCount, keyframeInterval: 5, main, chains: main.map(() => []) };
}

const avatar: PacketizedAvatar = {
  id: 't',
  fps: 25,
  size: 64,
  loops: { idle: loop('idle', 20), speaking: loop('speaking', 20) },
  cuts: {
    idle: Array.from({ length: 20 }, (_, i) => ((i + 1) % 20) - ((i + 1) % 5)),
    speaking: Array.from({ length: 20 }, (_, i) => ((i + 1) % 20) - ((i + 1) % 5)),
  },
  cutRatios: { idle: new Array(20).fill(1), speaking: new Array(20).fill(1) },
};

/** Time that moves only when the test says so, firing due timers in order (any number). */
function manualTime() {
  let now = 0;
  let order = 0;
  const timers = new Set<{ at: number; order: number; cb: () => void }>();
  const time: TimeSource = {
    now: () => now,
    setTimer(cb, delay) {
      const t = { at: now + Math.max(0, delay), order: order++, cb };
      timers.add(t);
      return () => timers.delete(t);
    },
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      let first: { at: number; order: number; cb: () => void } | undefined;
      for (const t of timers) {
        if (
          t.at <= end &&
          (!first || t.at < first.at || (t.at === first.at && t.order < first.order))
        )
          first = t;
      }
      if (!first) break;
      timers.delete(first);
      now = Math.max(now, first.at);
      first.cb();
    }
    now = end;
  };
  return { time, advance, pending: () => timers.size };
}

type Sent = { session: number; at: number; ts: number; marker: boolean; payload: string };

function setup(sessions: number, sendSlices: number) {
  const { time, advance, pending } = manualTime();
  const clock = new FrameClock(25, { time });
  const registry = new SessionRegistry(clock, () => {}, { sendSlices });
  const sent: Sent[] = [];
  const reports: SliceReport[] = [];
  registry.observe({ sliceSent: (r) => reports.push(r) });
  const list = Array.from({ length: sessions }, (_, k) => {
    const sender: VideoSender = {
      ready: true,
      send: (payload, _seq, ts, marker) =>
        sent.push({ session: k, at: time.now(), ts, marker, payload: payload.toString() }),
    };
    const session = new Session(avatar, clock, sender);
    registry.add(session);
    return session;
  });
  return { clock, registry, sessions: list, sent, reports, advance, pending };
}

describe('SessionRegistry send slices', () => {
  it('spreads a tick over the period, each session at a constant offset, one frame per tick', () => {
    const { sent, reports, advance } = setup(8, 4);
    advance(40 * 10 + 39);
    // Two sessions per slice, slices 10 ms apart; a session is always in the same slice.
    const frames = sent.filter((p) => p.marker);
    expect(frames).toHaveLength(8 * 11);
    for (let k = 0; k < 8; k++) {
      const own = frames.filter((f) => f.session === k);
      expect(own).toHaveLength(11);
      const offset = own[0]!.at % 40;
      expect(offset).toBe(10 * (k % 4));
      for (let i = 1; i < own.length; i++) {
        expect(own[i]!.at - own[i - 1]!.at).toBe(40);
        expect((own[i]!.ts - own[i - 1]!.ts) >>> 0).toBe(3600);
      }
    }
    expect(reports.every((r) => r.sessions === 2 && r.startLateMs === 0)).toBe(true);
  });

  it('sends an immediate switch as the frame the session still owes for the current tick', async () => {
    const { sessions, sent, clock, advance } = setup(4, 4);
    advance(40 * 3 + 5); // tick 3 fired at 120; session 3's slice is due at 150
    expect(clock.nextTick).toBe(4);
    const change = await sessions[3]!.setSpeaking(true);
    expect(change.tick).toBe(3);
    advance(40 * 2 + 30);
    const own = sent.filter((p) => p.session === 3 && p.marker);
    expect(own.map((f) => f.payload.split(':').slice(0, 2).join(':'))).toEqual([
      'idle:0',
      'idle:1',
      'idle:2',
      'speaking:0',
      'speaking:1',
      'speaking:2',
    ]);
    // The switched frame left at 125 (not at 150), the next one in the session's slice again.
    expect(own.map((f) => f.at)).toEqual([30, 70, 110, 125, 190, 230]);
    for (let i = 1; i < own.length; i++) expect((own[i]!.ts - own[i - 1]!.ts) >>> 0).toBe(3600);
    // A session whose slice already ran for tick 3 switches on the upcoming tick, as before.
    const first = await sessions[0]!.setSpeaking(true);
    expect(first.tick).toBe(clock.nextTick);
  });

  it('counts late frames against the slice’s own scheduled time, and clears its timers', () => {
    const { registry, reports, sessions, advance, pending } = setup(4, 4);
    advance(40);
    expect(reports.map((r) => r.scheduledAt)).toEqual([0, 10, 20, 30, 40]);
    expect(registry.lateFrames).toBe(0);
    expect(pending()).toBeGreaterThan(0);
    for (const s of sessions) s.close();
    expect(pending()).toBe(0);
  });
});
