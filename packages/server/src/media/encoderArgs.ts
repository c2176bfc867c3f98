/**
 * The ffmpeg command lines that turn raw frames into H.264 that any frame can be entered at.
 *
 * Both encoders must produce what Chromium's WebRTC decoder takes and what our splicing needs:
 * constrained baseline (profile-level-id 42e01f), no B-frames, an IDR exactly where we force one
 * and nowhere else, one slice per frame, and — for libx264 — `stitchable=1` so that separate
 * encodes (the two loops of an avatar) carry byte-identical SPS/PPS. The compiler checks that.
 */

export type EncoderKind = 'x264' | 'nvenc';

export type EncodeSettings = {
  size: number;
  fps: number;
  bitrateKbps: number;
  /** libx264 preset; NVENC uses its own fixed low-latency preset. */
  x264Preset: string;
};

/** The profile-level-id we negotiate; the level grows with the picture size (see `h264Level`). */
export const PROFILE_LEVEL_ID = '42e01f';

/** Smallest H.264 level whose frame-size limit fits a square of `size` pixels (Table A-1). */
export function h264Level(size: number): '3.1' | '4.0' | '5.1' {
  const macroblocks = Math.ceil(size / 16) ** 2;
  if (macroblocks <= 3600) return '3.1';
  if (macroblocks <= 8192) return '4.0';
  return '5.1';
}

/** `-force_key_frames` wants times; frame i of a constant-rate raw input starts at i / fps. */
export function keyframeTimes(frameIndices: readonly number[], fps: number): string {
  return frameIndices.map((i) => (i / fps).toFixed(6)).join(',');
}

/** Raw yuv420p frames on stdin. */
function rawInput(s: EncodeSettings): string[] {
  const dim = `${s.size}x${s.size}`;
  return ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', dim, '-r', String(s.fps), '-i', 'pipe:0'];
}

/**
 * VBV buffer of a third of a second: it caps an IDR at roughly bitrate/3 bits, so a keyframe
 * (every switch starts with one) does not take more than a few frame intervals to send.
 */
function rateControl(s: EncodeSettings): string[] {
  const kbps = s.bitrateKbps;
  return ['-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.round(kbps / 3)}k`];
}

/** Annex-B elementary stream on stdout. */
const OUTPUT = ['-an', '-f', 'h264', 'pipe:1'];

/** Arguments for an encode that puts IDRs at `keyframes` (input frame indices) and only there. */
export function encoderArgs(kind: EncoderKind, s: EncodeSettings, keyframes: readonly number[]) {
  const force = ['-force_key_frames', keyframeTimes(keyframes, s.fps), '-forced-idr', '1'];
  const level = h264Level(s.size);
  if (kind === 'nvenc') {
    return [
      ...rawInput(s),
      ...['-c:v', 'h264_nvenc', '-preset', 'p4', '-tune', 'll', '-profile:v', 'baseline'],
      ...['-level', level, '-rc', 'cbr', ...rateControl(s)],
      // No automatic keyframes: a huge GOP, no scene-cut IDRs, no B-frames; one slice per frame.
      ...['-g', '1000000', '-no-scenecut', '1', '-bf', '0', '-strict_gop', '1', '-aud', '1'],
      ...force,
      ...OUTPUT,
    ];
  }
  const x264Params = [
    'stitchable=1', // parameter sets do not depend on the content: identical across encodes
    'repeat-headers=1',
    'aud=1',
    'scenecut=0',
    'keyint=infinite',
    'bframes=0',
    'ref=1',
    'sliced-threads=0',
    'slices=1',
  ].join(':');
  return [
    ...rawInput(s),
    ...['-c:v', 'libx264', '-preset', s.x264Preset, '-profile:v', 'baseline', '-level:v', level],
    ...rateControl(s),
    ...['-x264-params', x264Params],
    ...force,
    ...OUTPUT,
  ];
}

/** A one-frame encode that succeeds only where the encoder really works (NVENC needs a GPU). */
export function probeArgs(kind: EncoderKind): string[] {
  const codec = kind === 'nvenc' ? 'h264_nvenc' : 'libx264';
  return [
    ...['-f', 'lavfi', '-i', 'color=c=gray:s=256x256:r=25', '-frames:v', '1'],
    ...['-c:v', codec, '-f', 'null', '-'],
  ];
}
