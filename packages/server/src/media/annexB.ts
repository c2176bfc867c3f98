/**
 * H.264 Annex-B byte streams (ITU-T H.264 Annex B): NAL units separated by start codes
 * 0x000001 or 0x00000001. We split the encoder's output into NAL units, then into access units.
 */

export const NalType = {
  slice: 1,
  idr: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  aud: 9,
} as const;

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

/** NAL units of an Annex-B stream, without their start codes. */
export function splitNalUnits(stream: Uint8Array): Uint8Array[] {
  const starts: Array<{ codeStart: number; nalStart: number }> = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      const codeStart = i > 0 && stream[i - 1] === 0 ? i - 1 : i;
      starts.push({ codeStart, nalStart: i + 3 });
      i += 2;
    }
  }
  const nals: Uint8Array[] = [];
  for (let k = 0; k < starts.length; k++) {
    const { nalStart } = starts[k]!;
    const end = k + 1 < starts.length ? starts[k + 1]!.codeStart : stream.length;
    // Trailing zero bytes belong to the next start code (or are stuffing), never to the NAL.
    let e = end;
    while (e > nalStart && stream[e - 1] === 0) e--;
    if (e > nalStart) nals.push(stream.subarray(nalStart, e));
  }
  return nals;
}

/** One coded picture: its slice NAL units (parameter sets, SEI and AUD removed). */
export type AccessUnit = {
  slices: Uint8Array[];
  /** An IDR picture: decoding can start here. */
  keyframe: boolean;
};

export type ParsedStream = {
  accessUnits: AccessUnit[];
  /** Every SPS and PPS seen, in order (the compiler asserts they are all identical). */
  sps: Uint8Array[];
  pps: Uint8Array[];
};

/** first_mb_in_slice is ue(v) right after the 1-byte NAL header; ue(v) == 0 is the single bit 1. */
function startsPicture(nal: Uint8Array): boolean {
  return ((nal[1] ?? 0) & 0x80) !== 0;
}

/**
 * Groups NAL units into access units (H.264 §7.4.1.2.3): a new picture starts at an AUD, at a
 * parameter set or SEI after a slice, or at a slice whose first_mb_in_slice is 0. This does not
 * rely on the encoder emitting AUDs. SEI is dropped (x264's version SEI is 600 bytes of text);
 * SPS/PPS are collected separately because the packetizer sends them before every IDR.
 */
export function parseAnnexB(stream: Uint8Array): ParsedStream {
  const accessUnits: AccessUnit[] = [];
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  let current: AccessUnit | null = null;
  const close = () => {
    if (current && current.slices.length > 0) accessUnits.push(current);
    current = null;
  };
  for (const nal of splitNalUnits(stream)) {
    const type = nalType(nal);
    if (type === NalType.slice || type === NalType.idr) {
      if (current !== null && startsPicture(nal)) close();
      current ??= { slices: [], keyframe: false };
      current.slices.push(nal);
      if (type === NalType.idr) current.keyframe = true;
      continue;
    }
    close();
    if (type === NalType.sps) sps.push(nal);
    else if (type === NalType.pps) pps.push(nal);
  }
  close();
  return { accessUnits, sps, pps };
}

/** Annex-B bytes for a list of NAL units (used by tests and tools that feed ffmpeg). */
export function toAnnexB(nals: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  const startCode = Uint8Array.of(0, 0, 0, 1);
  for (const nal of nals) parts.push(startCode, nal);
  return Buffer.concat(parts);
}
