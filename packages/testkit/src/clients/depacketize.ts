import { H264RtpPayload } from 'werift';

/** Rebuilds one access unit (Annex-B) from its RTP payloads with werift's RFC 6184 depacketizer. */
export function depacketize(payloads: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  let fragment: Buffer | undefined;
  for (const payload of payloads) {
    const unit = H264RtpPayload.deSerialize(payload, fragment);
    fragment = unit.fragment;
    if (unit.payload) out.push(unit.payload);
  }
  return Buffer.concat(out);
}
