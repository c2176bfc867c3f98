import { describe, expect, it } from 'vitest';
import { RtpHistory } from './rtpHistory.js';

/** `seconds` of a stream at `perSecond` packets a second on the 90 kHz clock; returns the last sequence number. */
function stream(history: RtpHistory, perSecond: number, seconds: number, firstSeq = 0) {
  const payloads: Buffer[] = [];
  let seq = firstSeq;
  for (let i = 0; i < perSecond * seconds; i++) {
    const payload = Buffer.from([i & 0xff]);
    payloads.push(payload);
    seq = (firstSeq + i) & 0xffff;
    history.put(payload, seq, Math.floor((i * 90_000) / perSecond) >>> 0, i % 3 === 0, 7);
  }
  return { last: seq, payloads };
}

describe('RtpHistory (the NACK history, sized by time)', () => {
  it('holds about one second of a 50 packets/s stream in 64 slots', () => {
    const history = new RtpHistory();
    const { last, payloads } = stream(history, 50, 3);
    expect(history.capacity).toBe(64);
    // The packet sent 0.98 s ago is there, with its fields and the very same payload.
    const p = history.get((last - 49) & 0xffff)!;
    expect(p.payload).toBe(payloads.at(-50));
    expect(p).toMatchObject({ sequenceNumber: (last - 49) & 0xffff, roc: 7 });
    expect(history.get((last - 64) & 0xffff)).toBeUndefined();
  });

  it('grows with the packet rate: 300 packets/s keep their last second in 512 slots', () => {
    const history = new RtpHistory();
    const { last, payloads } = stream(history, 300, 3);
    expect(history.capacity).toBe(512);
    for (let back = 0; back < 300; back++) {
      expect(history.get((last - back) & 0xffff)?.payload).toBe(payloads.at(-1 - back));
    }
  });

  it('keeps held packets across a resize and a sequence-number wrap', () => {
    const history = new RtpHistory({ initial: 4 });
    const { last, payloads } = stream(history, 100, 2, 65_500);
    expect(history.capacity).toBe(128);
    expect(last).toBeLessThan(200);
    for (let back = 0; back < 100; back++) {
      const seq = (last - back) & 0xffff;
      const p = history.get(seq)!;
      expect(p.payload).toBe(payloads.at(-1 - back));
      expect(p.sequenceNumber).toBe(seq);
    }
  });

  it('stops growing at its maximum', () => {
    const history = new RtpHistory({ max: 128 });
    stream(history, 1000, 1);
    expect(history.capacity).toBe(128);
  });

  it('refuses sizes that are not powers of two', () => {
    expect(() => new RtpHistory({ initial: 100 })).toThrow(/powers of two/);
  });
});
