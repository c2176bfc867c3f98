/**
 * RFC 6184 — RTP Payload Format for H.264 Video, packetization-mode 1 (non-interleaved).
 *
 * Written by hand rather than taken from werift because it is the core of our packet path: every
 * access unit is packetized once at load time into bare payloads, and the per-session send only
 * puts a header in front of them.
 *
 *   NAL unit header / STAP-A / FU indicator octet     FU header octet
 *   +---------------+                                +---------------+
 *   |0|1|2|3|4|5|6|7|                                |0|1|2|3|4|5|6|7|
 *   +-+-+-+-+-+-+-+-+                                +-+-+-+-+-+-+-+-+
 *   |F|NRI|  Type   |                                |S|E|R|  Type   |
 *   +---------------+                                +---------------+
 *
 * - Single NAL unit packet: the NAL unit as is (Type 1–23), when it fits.
 * - STAP-A (Type 24): several small NAL units, each preceded by a 16-bit size. Used for SPS+PPS,
 *   which Chrome wants in one packet with the IDR's timestamp (pion/rtp#112).
 * - FU-A (Type 28): one NAL unit split over packets; its header byte is spread over the FU
 *   indicator (F, NRI) and the FU header (S/E flags, Type).
 */

const STAP_A = 24;
const FU_A = 28;

/** Aggregates NAL units into one STAP-A payload; NRI is the largest of the aggregated units. */
export function stapA(nals: readonly Uint8Array[]): Buffer {
  let nri = 0;
  let length = 1;
  for (const nal of nals) {
    nri = Math.max(nri, (nal[0] ?? 0) & 0x60);
    length += 2 + nal.length;
  }
  const out = Buffer.allocUnsafe(length);
  out[0] = nri | STAP_A;
  let offset = 1;
  for (const nal of nals) {
    out.writeUInt16BE(nal.length, offset);
    out.set(nal, offset + 2);
    offset += 2 + nal.length;
  }
  return out;
}

/** A NAL unit as one payload if it fits in `maxPayload` bytes, else as FU-A fragments. */
export function packetizeNal(nal: Uint8Array, maxPayload: number): Buffer[] {
  if (nal.length <= maxPayload) return [Buffer.from(nal)];
  const header = nal[0] ?? 0;
  const indicator = (header & 0xe0) | FU_A;
  const type = header & 0x1f;
  const chunk = maxPayload - 2;
  const out: Buffer[] = [];
  for (let offset = 1; offset < nal.length; offset += chunk) {
    const end = Math.min(offset + chunk, nal.length);
    const fragment = Buffer.allocUnsafe(2 + end - offset);
    const start = offset === 1 ? 0x80 : 0;
    const last = end === nal.length ? 0x40 : 0;
    fragment[0] = indicator;
    fragment[1] = start | last | type;
    fragment.set(nal.subarray(offset, end), 2);
    out.push(fragment);
  }
  return out;
}

/**
 * All payloads of one access unit, in sending order. A keyframe is preceded by a STAP-A carrying
 * the SPS and PPS, so every IDR — any of which can be a viewer's first picture — is decodable
 * on its own. The caller sets the RTP marker bit on the last payload.
 */
export function packetizeAccessUnit(
  slices: readonly Uint8Array[],
  keyframe: boolean,
  parameterSets: { sps: Uint8Array; pps: Uint8Array },
  maxPayload: number,
): Buffer[] {
  const payloads: Buffer[] = [];
  if (keyframe) payloads.push(stapA([parameterSets.sps, parameterSets.pps]));
  for (const nal of slices) payloads.push(...packetizeNal(nal, maxPayload));
  return payloads;
}
