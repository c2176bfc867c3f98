import { describe, expect, it } from 'vitest';
import { NalType, parseAnnexB, splitNalUnits, toAnnexB } from './annexB.js';

const nal = (type: number, ...body: number[]) => Uint8Array.of(0x60 | type, ...body);
// first_mb_in_slice = 0 is the bit pattern 1…, so 0x80 starts a picture; 0x40 continues one.
const sliceStart = (type: number) => nal(type, 0x88, 0x11);
const sliceCont = (type: number) => nal(type, 0x40, 0x22);

describe('splitNalUnits', () => {
  it('splits on 3- and 4-byte start codes and keeps the bytes of each NAL unit', () => {
    const stream = Buffer.concat([
      Buffer.from([0, 0, 0, 1]),
      Buffer.from(nal(NalType.sps, 1, 2, 3)),
      Buffer.from([0, 0, 1]),
      Buffer.from(nal(NalType.pps, 4)),
      Buffer.from([0, 0, 0, 1]),
      Buffer.from(sliceStart(NalType.idr)),
    ]);
    const nals = splitNalUnits(stream);
    expect(nals.map((n) => Buffer.from(n).toString('hex'))).toEqual([
      Buffer.from(nal(NalType.sps, 1, 2, 3)).toString('hex'),
      Buffer.from(nal(NalType.pps, 4)).toString('hex'),
      Buffer.from(sliceStart(NalType.idr)).toString('hex'),
    ]);
  });

  it('returns nothing for a stream without start codes', () => {
    expect(splitNalUnits(Buffer.from([1, 2, 3, 4]))).toEqual([]);
  });
});

describe('parseAnnexB', () => {
  it('groups slices into pictures, collects parameter sets and drops SEI and AUD', () => {
    const stream = toAnnexB([
      nal(NalType.aud, 0xf0),
      nal(NalType.sps, 1),
      nal(NalType.pps, 2),
      nal(NalType.sei, 5, 5, 5),
      sliceStart(NalType.idr),
      sliceCont(NalType.idr), // a second slice of the same picture
      nal(NalType.aud, 0xf0),
      sliceStart(NalType.slice),
      sliceStart(NalType.slice), // no AUD: first_mb_in_slice == 0 starts the next picture
    ]);
    const parsed = parseAnnexB(stream);
    expect(parsed.accessUnits.map((au) => [au.keyframe, au.slices.length])).toEqual([
      [true, 2],
      [false, 1],
      [false, 1],
    ]);
    expect(parsed.sps).toHaveLength(1);
    expect(parsed.pps).toHaveLength(1);
  });
});
