import type { WhepTestClient } from '@avatar-server/testkit';
import OpusScript from 'opusscript';
import { RtcpSrPacket, type RtpPacket } from 'werift';
import { epochMsFromNtp } from '../../src/webrtc/senderReports.js';

/** A WAV file (16-bit mono) of tone and silence segments: `freq` 0 is silence. */
export function toneWav(segments: Array<{ ms: number; freq: number }>, rate = 48_000): Buffer {
  const samples: number[] = [];
  for (const { ms, freq } of segments) {
    const n = Math.round((ms * rate) / 1000);
    for (let i = 0; i < n; i++) {
      samples.push(freq ? Math.round(12_000 * Math.sin((2 * Math.PI * freq * i) / rate)) : 0);
    }
  }
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => {
    data.writeInt16LE(v, i * 2);
  });
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Raw L16 (big-endian, RFC 2586) samples of a tone. */
export function toneL16(ms: number, freq: number, rate: number): Buffer {
  const n = Math.round((ms * rate) / 1000);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    out.writeInt16BE(Math.round(12_000 * Math.sin((2 * Math.PI * freq * i) / rate)), i * 2);
  }
  return out;
}

export type AudioPacket = {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
  /** Arrival, ms since the epoch. */
  receivedAt: number;
};
export type SenderReport = { ssrc: number; ntpMs: number; rtp: number; receivedAt: number };

/**
 * What a WHEP test client receives besides video pictures: the Opus packets of the audio track
 * and the RTCP sender reports of both tracks (by SSRC).
 */
export class AudioCapture {
  readonly packets: AudioPacket[] = [];
  readonly reports: SenderReport[] = [];
  audioSsrc = 0;
  videoSsrc = 0;

  constructor(client: WhepTestClient) {
    const [video, audio] = client.pc.getTransceivers();
    video!.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        this.videoSsrc = rtp.header.ssrc;
      }),
    );
    audio!.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        this.audioSsrc = rtp.header.ssrc;
        this.packets.push({
          sequenceNumber: rtp.header.sequenceNumber,
          timestamp: rtp.header.timestamp,
          marker: rtp.header.marker,
          payload: Buffer.from(rtp.payload),
          receivedAt: performance.timeOrigin + performance.now(),
        });
      }),
    );
    for (const t of [video!, audio!]) {
      t.receiver.onRtcp.subscribe((packet) => {
        if (packet.type !== RtcpSrPacket.type) return;
        const sr = packet as RtcpSrPacket;
        this.reports.push({
          ssrc: sr.ssrc,
          ntpMs: epochMsFromNtp(sr.senderInfo.ntpTimestamp),
          rtp: sr.senderInfo.rtpTimestamp,
          receivedAt: performance.timeOrigin + performance.now(),
        });
      });
    }
  }

  /** The latest sender report of an SSRC. */
  report(ssrc: number): SenderReport | undefined {
    return this.reports.filter((r) => r.ssrc === ssrc).at(-1);
  }
}

/** Epoch ms of an RTP timestamp, through a sender report of the same stream. */
export function mediaTime(report: SenderReport, timestamp: number, rate: number): number {
  const diff = ((timestamp - report.rtp + 2 ** 31) >>> 0) - 2 ** 31; // signed, wrap-safe
  return report.ntpMs + (diff * 1000) / rate;
}

/** Decodes Opus packets (one per 20 ms frame) to mono 48 kHz samples. */
export function decodeOpus(packets: ReadonlyArray<{ payload: Buffer }>): Int16Array[] {
  const decoder = new OpusScript(48_000, 1);
  try {
    return packets.map((p) => {
      const pcm = decoder.decode(p.payload);
      return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2).slice();
    });
  } finally {
    decoder.delete();
  }
}

/** Power of one frequency in a frame (Goertzel), normalised by the frame's length. */
export function tonePower(frame: Int16Array, freq: number, rate = 48_000): number {
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < frame.length; i++) {
    const s = frame[i]! / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (frame.length * frame.length);
}

/** RMS level of a frame (0–1). */
export function rms(frame: Int16Array): number {
  let sum = 0;
  for (const v of frame) sum += (v / 32768) ** 2;
  return Math.sqrt(sum / Math.max(1, frame.length));
}
