import { describe, expect, it } from 'vitest';
import { decodeOpus } from '../../test/support/audio.js';
import type { TimeSource } from '../session/frameClock.js';
import { type SpeechEvent, Voice } from './Voice.js';
import { levelFromDbfs } from './voiced.js';

/** Time that moves only when the test says so, firing due timers (one at a time, as the voice). */
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

/** The loudest sample (of 32768) in each packet, decoded. */
const peaks = (packets: Array<{ payload: Buffer }>) =>
  decodeOpus(packets).map((s) => s.reduce((max, v) => Math.max(max, Math.abs(v)), 0));

/** How long (ms) a frame of decoded samples stays above −30 dBFS from its start. */
const soundingMs = (frame: Int16Array) => {
  const last = frame.findLastIndex((v) => Math.abs(v) > 1000);
  return ((last + 1) * 1000) / 48_000;
};

/** `ms` of 48 kHz samples: a loud square-ish tone, or silence. */
const samples = (ms: number, loud: boolean) =>
  Int16Array.from({ length: (ms * 48_000) / 1000 }, (_, i) =>
    loud ? (i % 48 < 24 ? 8000 : -8000) : 0,
  );

function setup(faceDelayMs = 0) {
  const { time, advance } = manualTime();
  const sent: Array<{ ts: number; marker: boolean; payload: Buffer }> = [];
  const sender = {
    hasAudio: true,
    ready: true,
    sendAudio: (payload: Buffer, _seq: number, ts: number, marker: boolean) =>
      sent.push({ ts, marker, payload: Buffer.from(payload) }),
  };
  const voice = new Voice(
    sender,
    () => ({ originMs: 0, audioBase: 1000 }),
    {
      silenceMs: 250,
      faceDelayMs,
      voiceThreshold: levelFromDbfs(-45),
      maxQueue: 2,
      maxBufferedSeconds: 60,
    },
    time,
  );
  const events: SpeechEvent[] = [];
  voice.on('speech', (e) => events.push(e));
  /** The face for each 40 ms video frame from `fromMs` to `toMs`. */
  const face = (fromMs: number, toMs: number) => {
    const out: Array<boolean | undefined> = [];
    for (let t = fromMs; t < toMs; t += 40) out.push(voice.speakingFor(t, 40));
    return out;
  };
  return { voice, sent, events, advance, face };
}

describe('Voice', () => {
  it('plays 20 ms frames on the media clock and tells the face from the samples it holds', () => {
    const { voice, sent, events, advance, face } = setup();
    const { id } = voice.open(48_000);
    // 200 ms silence, 400 ms voice, a 100 ms pause (inside a word), 200 ms voice, then silence.
    voice.push(id, samples(200, false));
    voice.push(id, samples(400, true));
    voice.push(id, samples(100, false));
    voice.push(id, samples(200, true));
    voice.end(id);
    // Before anything is sent, the face reads ahead: idle frames, then speaking from 200 ms.
    const ahead = face(0, 240);
    expect(ahead).toEqual([false, false, false, false, false, true]);
    advance(1200);
    const later = face(240, 1400);
    // Speaking through the 100 ms pause (no flapping), then, 250 ms after the voice ends
    // (900 ms), the voice has nothing more to say: the application's state applies (undefined).
    const stop = later.findIndex((s) => s !== true);
    const idleFrom = 240 + stop * 40;
    expect(later[stop]).toBeUndefined();
    expect(later.slice(stop).every((s) => s === undefined)).toBe(true);
    expect(idleFrom).toBeGreaterThanOrEqual(900 + 250);
    // The nearest frame to that moment: within half a frame, on a 40 ms grid.
    expect(idleFrom).toBeLessThanOrEqual(900 + 250 + 20 + 40);
    expect(later.at(-1), 'nothing to say: the application decides').toBeUndefined();
    // 45 frames (900 ms) and 3 of silent tail, timestamps one frame apart on the media clock,
    // one talkspurt. The tail carries the encoder's look-ahead (the last 6.5 ms of the voice) and
    // its decay, then decodes to silence.
    expect(sent).toHaveLength(48);
    expect(peaks(sent).at(-1), 'silent once the encoder is flushed').toBeLessThan(64);
    expect(sent.map((p) => p.ts).slice(0, 3)).toEqual([1000, 1960, 2920]);
    expect(sent.every((p, i) => p.ts === 1000 + i * 960)).toBe(true);
    expect(sent.filter((p) => p.marker)).toHaveLength(1);
    expect(events.map((e) => e.event)).toEqual(['start', 'end', 'drained']);
  });

  it('follows the voice faceDelayMs later, on the frame nearest to it', () => {
    const { voice, advance, face } = setup(50);
    const { id } = voice.open(48_000);
    // The voice starts at 240 ms and lasts 400 ms.
    voice.push(id, samples(240, false));
    voice.push(id, samples(400, true));
    voice.end(id);
    advance(1000);
    const faces = face(0, 1400);
    // Followed from 240 + 50 = 290: the nearest frame is the 280 ms one (the 240 ms frame would be
    // 50 ms early).
    expect(faces.indexOf(true) * 40).toBe(280);
    // Silent from 640: idle from the first frame whose window (its time − 50 − 20) starts 250 ms
    // after it, the 960 ms frame.
    expect(faces.lastIndexOf(true) * 40 + 40).toBe(960);
  });

  it('interrupts at once: only the silent tail follows, the queue is dropped', () => {
    const { voice, sent, events, advance, face } = setup();
    const a = voice.open(48_000);
    voice.push(a.id, samples(2000, true));
    voice.end(a.id);
    const b = voice.open(48_000);
    expect(b.queued).toBe(1);
    expect(() => voice.open(48_000), 'the queue is bounded').toThrow(/at most 2/);
    advance(500);
    const before = sent.length;
    expect(voice.interrupt()).toEqual({ id: a.id, dropped: 2 });
    advance(500);
    // Three frames of silence on the same timeline, so the receiver's buffer ends quietly.
    const tail = sent.slice(before);
    expect(tail.map((p) => p.ts - sent[before - 1]!.ts)).toEqual([960, 1920, 2880]);
    const heard = decodeOpus(sent);
    // A fresh encoder for the tail: what sounds in it is the decoder's overlap with the last
    // frame (~4 ms), where the old encoder went on sounding for 19.7 ms; then silence.
    expect(soundingMs(heard[before]!)).toBeLessThanOrEqual(4);
    expect(Math.max(...peaks(sent.slice(before + 1)))).toBeLessThan(64);
    expect(peaks(sent)[before - 1], 'the tone played up to the interrupt').toBeGreaterThan(4000);
    expect(face(1000, 1040)).toEqual([undefined]);
    expect(events.map((e) => e.event)).toEqual(['start', 'interrupted']);
  });

  it('starts a stream after a short prebuffer and waits for late chunks without a burst', () => {
    const { voice, sent, advance } = setup();
    const { id } = voice.open(24_000, { streaming: true });
    voice.push(
      id,
      Int16Array.from({ length: 480 }, () => 5000),
    ); // 20 ms
    advance(100);
    expect(sent, 'under the 60 ms prebuffer: nothing yet').toHaveLength(0);
    voice.push(
      id,
      Int16Array.from({ length: 1440 }, () => 5000),
    ); // 60 ms more
    advance(100);
    expect(sent).toHaveLength(5); // four frames and the first of the silent tail
    advance(200); // no data: the rest of the tail, then nothing: the stream waits
    expect(sent).toHaveLength(7);
    voice.push(
      id,
      Int16Array.from({ length: 960 }, () => 5000),
    );
    advance(40);
    expect(sent).toHaveLength(9);
    expect(sent[7]!.marker, 'a new talkspurt after the gap').toBe(true);
    voice.end(id);
  });
});
