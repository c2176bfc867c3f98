import { execFileSync } from 'node:child_process';
import { depacketize } from '@avatar-server/testkit';
import { describe, expect, it } from 'vitest';
import { parseAnnexB, toAnnexB } from '../media/annexB.js';
import { packetizeAccessUnit, packetizeNal, stapA } from './h264Packetizer.js';

/** Two seconds of a real H.264 stream (IDR every 10 frames), as our encoder settings make it. */
function realStream(): Buffer {
  return execFileSync(
    process.env.FFMPEG_PATH ?? 'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x320:r=25:d=2'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '10'],
      ...['-x264-params', 'repeat-headers=1', '-b:v', '2000k', '-f', 'h264', 'pipe:1'],
    ],
    { maxBuffer: 64 << 20 },
  );
}

describe('H.264 packetizer (RFC 6184)', () => {
  it('round-trips every access unit of a real stream through werift, byte for byte', () => {
    const parsed = parseAnnexB(realStream());
    const parameterSets = { sps: parsed.sps[0]!, pps: parsed.pps[0]! };
    expect(parsed.accessUnits.length).toBe(50);
    let fragmented = 0;
    for (const au of parsed.accessUnits) {
      const payloads = packetizeAccessUnit(au.slices, au.keyframe, parameterSets, 1200);
      for (const p of payloads) expect(p.length).toBeLessThanOrEqual(1200);
      if (payloads.length > (au.keyframe ? 2 : 1)) fragmented++;
      const expected = toAnnexB(
        au.keyframe ? [parameterSets.sps, parameterSets.pps, ...au.slices] : au.slices,
      );
      expect(depacketize(payloads).equals(expected)).toBe(true);
    }
    expect(fragmented).toBeGreaterThan(0); // the stream exercised FU-A, not only single NALs
  });

  it('puts SPS and PPS in one STAP-A before each IDR, and nothing before P-frames', () => {
    const sps = Uint8Array.of(0x67, 0x42, 0xc0, 0x1f);
    const pps = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);
    const idr = packetizeAccessUnit([Uint8Array.of(0x65, 0x88, 1, 2)], true, { sps, pps }, 1200);
    expect(idr).toHaveLength(2);
    expect(idr[0]![0]! & 0x1f).toBe(24);
    expect(idr[0]![0]! & 0x60).toBe(0x60); // NRI of the most important aggregated unit
    const p = packetizeAccessUnit([Uint8Array.of(0x41, 0x9a, 1)], false, { sps, pps }, 1200);
    expect(p).toHaveLength(1);
    expect(p[0]![0]).toBe(0x41);
  });

  it('splits a large NAL unit into FU-A fragments with start and end flags', () => {
    const nal = new Uint8Array(3000).fill(7);
    nal[0] = 0x65;
    const fragments = packetizeNal(nal, 1200);
    expect(fragments).toHaveLength(3);
    expect(fragments.map((f) => f[1]! & 0xc0)).toEqual([0x80, 0x00, 0x40]);
    expect(fragments.every((f) => (f[0]! & 0x1f) === 28 && (f[1]! & 0x1f) === 5)).toBe(true);
    expect(stapA([nal.subarray(0, 4)]).readUInt16BE(1)).toBe(4);
  });
});
