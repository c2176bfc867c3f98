import {
  type RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  type RtpPacket,
  useH264,
  useNACK,
  usePLI,
  useSdesMid,
} from 'werift';
import { depacketize } from './depacketize.js';

/** One received picture: its Annex-B bytes and when its last packet arrived. */
export type ReceivedFrame = {
  annexB: Buffer;
  timestamp: number;
  keyframe: boolean;
  receivedAt: number;
  firstSequence: number;
  extensions: Array<{ id: number; payload: Buffer }>;
};

/** The H.264 a test receiver accepts: what the server sends (42e01f, packetization-mode 1). */
export function receiverH264(options: { nack?: boolean } = {}): RTCRtpCodecParameters {
  return useH264({
    parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
    rtcpFeedback: options.nack === false ? [usePLI()] : [useNACK(), usePLI()],
  });
}

/** Header extensions a test receiver offers: mid, and playout-delay (the server sends 0,0). */
export function receiverVideoExtensions() {
  return [
    useSdesMid(),
    new RTCRtpHeaderExtensionParameters({
      uri: 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
    }),
  ];
}

/** Collects RTP packets into pictures by marker bit, as a receiver's depacketizer would. */
export class FrameAssembler {
  #current: RtpPacket[] = [];

  /** Adds a packet; returns the picture it completes, if it carries the marker bit. */
  push(rtp: RtpPacket): ReceivedFrame | undefined {
    const head = this.#current[0];
    if (head && head.header.timestamp !== rtp.header.timestamp) this.#current = [];
    this.#current.push(rtp);
    if (!rtp.header.marker) return undefined;
    // Order by sequence number relative to the first packet, so a frame spanning 65535 → 0 sorts right.
    const first = this.#current[0]!.header.sequenceNumber;
    const rank = (p: RtpPacket) => (p.header.sequenceNumber - first + 0x10000) & 0xffff;
    const packets = this.#current.sort((a, b) => rank(a) - rank(b));
    this.#current = [];
    const annexB = depacketize(packets.map((p) => p.payload));
    return {
      annexB,
      timestamp: rtp.header.timestamp,
      keyframe: hasIdr(annexB),
      receivedAt: performance.now(),
      firstSequence: packets[0]!.header.sequenceNumber,
      extensions: packets[0]!.header.extensions,
    };
  }
}

/** True when an Annex-B access unit contains an IDR slice (NAL type 5). */
export function hasIdr(annexB: Buffer): boolean {
  for (let i = 0; i + 3 < annexB.length; i++) {
    if (
      annexB[i] === 0 &&
      annexB[i + 1] === 0 &&
      annexB[i + 2] === 1 &&
      (annexB[i + 3]! & 0x1f) === 5
    ) {
      return true;
    }
  }
  return false;
}
