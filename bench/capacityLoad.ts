/**
 * The load generator of `bench/capacity.ts`, in its own process (pinned by the parent with
 * `taskset`): N real werift receivers that complete ICE and DTLS with the server and receive SRTP.
 * The parent may run several of these processes and add up their reports.
 *
 * Churn (`churn` command): while the N stream, new receivers join at a steady rate (open loop: one
 * every 1/rate s whether or not the previous one is up), each doing the full WHEP POST + ICE +
 * DTLS, streaming a few seconds, then `DELETE`-ing its session. They are kept apart from the N,
 * so `report` still describes only the streaming sessions; `churn` replies with the joiners' own
 * figures (time to first packet, failures, deletes).
 *
 * Audio (`open` with `audio: true`): the receivers' offers also receive Opus, and `speak` makes
 * each of them stream PCM to its session in real time (`POST <session>/audio`, audio/L16 at
 * 24 kHz in 100 ms chunks, a voiced tone, as streaming text to speech does) until `close`. Audio
 * packets are counted apart from the video's.
 *
 * Decrypting every packet would make this process, not the server, the bottleneck, so each
 * receiver reads the (cleartext) RTP header of every SRTP packet to count packets, frames (marker
 * bit), missing packets (sequence gaps) and missed frames (timestamp gaps), and fully decrypts and
 * authenticates one packet in SAMPLE with werift's own SRTP session (a failed tag is counted as
 * such). Only those sampled packets reach werift's receiver, so it still sends receiver reports;
 * its NACK generator is switched off, so the sparse delivery causes no retransmissions.
 */

import { receiverH264, receiverVideoExtensions } from '@avatar-server/testkit';
import { RTCPeerConnection, RTCRtpCodecParameters, SrtpAuthenticationError } from 'werift';
import { summary } from './stats.js';

const SAMPLE = 32;
/** The Opus payload type our offers give (werift answers with the offer's). */
const OPUS_PT = 111;
/** Streamed PCM: 24 kHz mono, 100 ms chunks of a voiced 220 Hz tone (the same bytes every time). */
const PCM_RATE = 24_000;
const CHUNK_MS = 100;
const TONE = (() => {
  const samples = (PCM_RATE * CHUNK_MS) / 1000;
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / PCM_RATE)), i * 2);
  }
  return b;
})();
const LATE_MS = 10;
/** Thrown (one shared instance) to make werift drop a packet we counted but did not decrypt. */
const DROP = new SrtpAuthenticationError('counted, not decrypted (bench sample)');

type Counters = {
  packets: number;
  bytes: number;
  missingPackets: number;
  frames: number;
  missedFrames: number;
  sampled: number;
  authenticated: number;
  authFailed: number;
  lateFrames: number;
  audioPackets: number;
  /** Streamed utterances the server refused or cut (an HTTP error, a reset). */
  speakFailed: number;
};

const zero = (): Counters => ({
  packets: 0,
  bytes: 0,
  missingPackets: 0,
  frames: 0,
  missedFrames: 0,
  sampled: 0,
  authenticated: 0,
  authFailed: 0,
  lateFrames: 0,
  audioPackets: 0,
  speakFailed: 0,
});

class Receiver {
  readonly pc: RTCPeerConnection;
  counters = zero();
  /** Arrival minus RTP time for each frame of the window; lateness is relative to the minimum. */
  offsets: number[] = [];
  twcc = false;
  /** The session's URL (the POST's Location), for the DELETE that ends it. */
  location: string | undefined;
  /** ms from sending the WHEP POST to its answer, and to the first SRTP packet. */
  postMs = 0;
  firstPacketMs = 0;
  #lastSeq = -1;
  #lastTs = -1;
  #tsUnwrapped = 0;
  #count = 0;
  #speaking: AbortController | undefined;

  constructor(audio = false) {
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
      codecs: {
        video: [receiverH264({ nack: false })],
        audio: audio
          ? [
              new RTCRtpCodecParameters({
                mimeType: 'audio/opus',
                clockRate: 48000,
                channels: 2,
                payloadType: OPUS_PT,
              }),
            ]
          : [],
      },
      headerExtensions: { video: receiverVideoExtensions() },
    });
    const { receiver } = this.pc.addTransceiver('video', { direction: 'recvonly' });
    if (audio) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    // The server's answer lists NACK; werift would then NACK every packet we did not pass on.
    Object.defineProperty(receiver, 'nackEnabled', { get: () => undefined });
  }

  async connect(url: string, timeoutMs = 20_000) {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const posted = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: this.pc.localDescription!.sdp,
    });
    if (res.status !== 201) throw new Error(`WHEP POST ${res.status}: ${await res.text()}`);
    const location = res.headers.get('location');
    this.location = location ? new URL(location, url).href : undefined;
    const answer = await res.text();
    this.postMs = performance.now() - posted;
    this.twcc = /transport-wide-cc|transport-cc/.test(answer);
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const transport = this.pc.getTransceivers()[0]!.receiver.dtlsTransport as unknown as {
      srtp?: { decrypt(data: Buffer): Buffer };
    };
    const deadline = Date.now() + timeoutMs;
    while (!transport.srtp) {
      if (Date.now() > deadline) throw new Error('DTLS did not complete');
      await new Promise((r) => setTimeout(r, 20));
    }
    const srtp = transport.srtp;
    const decrypt = srtp.decrypt.bind(srtp);
    srtp.decrypt = (data: Buffer) => {
      this.#onPacket(data);
      if (++this.#count % SAMPLE !== 0) throw DROP;
      this.counters.sampled++;
      let plain: Buffer;
      try {
        plain = decrypt(data);
      } catch (err) {
        this.counters.authFailed++;
        throw err;
      }
      // The decrypted packet must carry the header we counted (same sequence number).
      if (plain.readUInt16BE(2) === data.readUInt16BE(2)) this.counters.authenticated++;
      else this.counters.authFailed++;
      return plain;
    };
    while (this.counters.packets === 0) {
      if (Date.now() > deadline) throw new Error('no SRTP packet arrived');
      await new Promise((r) => setTimeout(r, 5));
    }
    this.firstPacketMs = this.#firstPacketAt - posted;
  }

  /**
   * Streams PCM to the session in real time until `stop`: one long utterance, started again if
   * the server ends it (its length limit).
   */
  speak() {
    if (!this.location || this.#speaking) return;
    const controller = new AbortController();
    this.#speaking = controller;
    const url = `${this.location}/audio`;
    const once = async () => {
      let timer: NodeJS.Timeout | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          // 200 ms at once, then 100 ms every 100 ms: a cushion against late chunks, as text to
          // speech that runs faster than real time has.
          c.enqueue(TONE);
          c.enqueue(TONE);
          timer = setInterval(() => c.enqueue(TONE), CHUNK_MS);
        },
        cancel() {
          clearInterval(timer);
        },
      });
      controller.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': `audio/L16;rate=${PCM_RATE};channels=1;endianness=little-endian`,
        },
        body,
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit);
      if (res.status !== 202) this.counters.speakFailed++;
    };
    void (async () => {
      while (!controller.signal.aborted) {
        await once().catch(() => {
          if (!controller.signal.aborted) this.counters.speakFailed++;
        });
      }
    })();
  }

  /** Ends the session as a player leaving does: WHEP DELETE, then the peer closes. */
  async leave(): Promise<boolean> {
    this.#speaking?.abort();
    const res = this.location
      ? await fetch(this.location, { method: 'DELETE' }).catch(() => undefined)
      : undefined;
    await this.pc.close().catch(() => {});
    return res !== undefined && res.status >= 200 && res.status < 300;
  }

  #firstPacketAt = 0;

  #onPacket(data: Buffer) {
    const c = this.counters;
    if (this.#firstPacketAt === 0) this.#firstPacketAt = performance.now();
    if ((data[1]! & 0x7f) === OPUS_PT) {
      c.audioPackets++;
      return;
    }
    c.packets++;
    c.bytes += data.length;
    const seq = data.readUInt16BE(2);
    if (this.#lastSeq >= 0) {
      const gap = (seq - this.#lastSeq + 0x10000) & 0xffff;
      if (gap > 1 && gap < 0x8000) c.missingPackets += gap - 1;
    }
    this.#lastSeq = seq;
    if ((data[1]! & 0x80) === 0) return; // not the last packet of a frame
    const ts = data.readUInt32BE(4);
    const now = performance.now();
    c.frames++;
    if (this.#lastTs >= 0) {
      const step = (ts - this.#lastTs) >>> 0;
      this.#tsUnwrapped += step;
      const frames = Math.round(step / 3600);
      if (frames > 1 && frames < 1000) c.missedFrames += frames - 1;
    }
    this.#lastTs = ts;
    this.offsets.push(now - this.#tsUnwrapped / 90);
  }

  resetWindow() {
    this.counters = zero();
    this.offsets = [];
  }

  /** Frames that arrived more than 10 ms later than the earliest-arriving frame of the window. */
  lateFrames() {
    let min = Number.POSITIVE_INFINITY;
    for (const o of this.offsets) min = Math.min(min, o);
    let late = 0;
    for (const o of this.offsets) if (o - min > LATE_MS) late++;
    return late;
  }
}

const receivers: Receiver[] = [];

async function open(url: string, count: number, concurrency: number, audio = false) {
  const started = performance.now();
  let failed = 0;
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const receiver = new Receiver(audio);
      try {
        await receiver.connect(url);
        receivers.push(receiver);
      } catch (err) {
        failed++;
        if (errors.length < 3) errors.push((err as Error).message);
        await receiver.pc.close().catch(() => {});
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { opened: receivers.length, failed, errors, ms: Math.round(performance.now() - started) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Joins one receiver every 1/rate s for `durationS`; each streams `streamS` then leaves. Replies
 * once every joiner has left: time to first packet (POST sent → first SRTP packet), failures.
 */
async function churn(url: string, rate: number, durationS: number, streamS: number, audio = false) {
  const ttfp: number[] = [];
  const post: number[] = [];
  const errors: string[] = [];
  let joined = 0;
  let failed = 0;
  let deleted = 0;
  let deleteFailed = 0;
  let framesReceived = 0;
  let withoutFrames = 0;
  const join = async () => {
    const receiver = new Receiver(audio);
    try {
      await receiver.connect(url);
    } catch (err) {
      failed++;
      if (errors.length < 3) errors.push((err as Error).message);
      await receiver.pc.close().catch(() => {});
      return;
    }
    joined++;
    ttfp.push(receiver.firstPacketMs);
    post.push(receiver.postMs);
    await sleep(streamS * 1000);
    framesReceived += receiver.counters.frames;
    if (receiver.counters.frames === 0) withoutFrames++;
    if (await receiver.leave()) deleted++;
    else deleteFailed++;
  };
  const started = performance.now();
  const joins: Promise<void>[] = [];
  const count = Math.max(1, Math.round(rate * durationS));
  for (let i = 0; i < count; i++) {
    // Open loop, on a fixed schedule: a slow handshake does not slow the arrivals.
    await sleep(Math.max(0, started + (i * 1000) / rate - performance.now()));
    joins.push(join());
  }
  await Promise.all(joins);
  const orNone = (s: ReturnType<typeof summary>) => (s.n ? s : { n: 0 });
  return {
    rate,
    attempted: count,
    joined,
    failed,
    errors,
    deleted,
    deleteFailed,
    framesReceived,
    joinersWithoutFrames: withoutFrames,
    ttfpMs: orNone(summary(ttfp)),
    postMs: orNone(summary(post)),
    ms: Math.round(performance.now() - started),
  };
}

function report() {
  const total = zero();
  let receiversWithoutPackets = 0;
  for (const r of receivers) {
    r.counters.lateFrames = r.lateFrames();
    for (const key of Object.keys(total) as Array<keyof Counters>) total[key] += r.counters[key];
    if (r.counters.packets === 0) receiversWithoutPackets++;
  }
  return {
    receivers: receivers.length,
    receiversWithoutPackets,
    twccNegotiated: receivers.some((r) => r.twcc),
    ...total,
  };
}

type Command = {
  cmd: string;
  url?: string;
  count?: number;
  rate?: number;
  durationS?: number;
  streamS?: number;
  audio?: boolean;
};

process.on('message', async (m: Command) => {
  if (m.cmd === 'open') {
    process.send!({ type: 'opened', ...(await open(m.url!, m.count!, 4, m.audio)) });
  } else if (m.cmd === 'speak') {
    for (const r of receivers) r.speak();
    process.send!({ type: 'speaking' });
  } else if (m.cmd === 'churn') {
    process.send!({
      type: 'churned',
      churn: await churn(m.url!, m.rate!, m.durationS!, m.streamS!, m.audio),
    });
  } else if (m.cmd === 'reset') {
    for (const r of receivers) r.resetWindow();
    process.send!({ type: 'reset' });
  } else if (m.cmd === 'report') {
    process.send!({ type: 'report', report: report() });
  } else if (m.cmd === 'close') {
    // As players leave: DELETE (the server's count drops at once), then the peer closes.
    await Promise.all(receivers.splice(0).map((r) => r.leave()));
    process.send!({ type: 'closed' });
  } else if (m.cmd === 'exit') {
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
