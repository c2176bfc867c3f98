import { describe, expect, it } from 'vitest';
import { encoderArgs, h264Level, keyframeTimes, probeArgs } from './encoderArgs.js';

const settings = { size: 512, fps: 25, bitrateKbps: 1500, x264Preset: 'veryfast' };

/** The value following `flag` in an argument list. */
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('encoder command lines', () => {
  it('builds the NVENC command: baseline, CBR with a capped buffer, forced IDRs only, no B-frames', () => {
    const args = encoderArgs('nvenc', settings, [0, 25, 50]);
    expect(argAfter(args, '-c:v')).toBe('h264_nvenc');
    expect(argAfter(args, '-profile:v')).toBe('baseline');
    expect(argAfter(args, '-level')).toBe('3.1');
    expect(argAfter(args, '-rc')).toBe('cbr');
    expect(argAfter(args, '-b:v')).toBe('1500k');
    expect(argAfter(args, '-bufsize')).toBe('500k');
    expect(argAfter(args, '-bf')).toBe('0');
    expect(argAfter(args, '-no-scenecut')).toBe('1');
    expect(argAfter(args, '-forced-idr')).toBe('1');
    expect(argAfter(args, '-force_key_frames')).toBe('0.000000,1.000000,2.000000');
    expect(Number(argAfter(args, '-g'))).toBeGreaterThan(100_000);
    expect(args.slice(-3)).toEqual(['-f', 'h264', 'pipe:1']);
    expect(args.slice(0, 10)).toEqual([
      '-f',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      '-s',
      '512x512',
      '-r',
      '25',
      '-i',
      'pipe:0',
    ]);
  });

  it('builds the libx264 command with stitchable headers and no automatic keyframes', () => {
    const args = encoderArgs('x264', settings, [0, 3]);
    expect(argAfter(args, '-c:v')).toBe('libx264');
    expect(argAfter(args, '-preset')).toBe('veryfast');
    const params = argAfter(args, '-x264-params')!.split(':');
    expect(params).toEqual(
      expect.arrayContaining([
        'stitchable=1',
        'scenecut=0',
        'keyint=infinite',
        'bframes=0',
        'repeat-headers=1',
      ]),
    );
    expect(argAfter(args, '-force_key_frames')).toBe('0.000000,0.120000');
  });

  it('chooses the H.264 level from the frame size', () => {
    expect(h264Level(512)).toBe('3.1');
    expect(h264Level(960)).toBe('3.1');
    expect(h264Level(1024)).toBe('4.0');
    expect(h264Level(2048)).toBe('5.1');
  });

  it('writes keyframe times that land on frame starts at any frame rate', () => {
    expect(keyframeTimes([0, 1, 30], 30)).toBe('0.000000,0.033333,1.000000');
  });

  it('probes with a real one-frame encode', () => {
    expect(probeArgs('nvenc')).toEqual(expect.arrayContaining(['h264_nvenc', '-frames:v', '1']));
  });
});
