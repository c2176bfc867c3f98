import { type EncoderKind, probeArgs } from './encoderArgs.js';
import { ffmpegToBuffer } from './runFfmpeg.js';

export type EncoderChoice = {
  kind: EncoderKind;
  /** Whether an NVENC encode worked on this machine (false when not probed). */
  nvencAvailable: boolean;
  /** Why this encoder, for the log and `/status`. */
  reason: string;
};

/** True when a real one-frame encode with this encoder succeeds. */
export async function encoderWorks(ffmpegPath: string, kind: EncoderKind): Promise<boolean> {
  try {
    // A GPU driver that hangs must not hold up the start: a one-frame encode takes well under 20 s.
    await ffmpegToBuffer(ffmpegPath, probeArgs(kind), `probe ${kind}`, { timeoutMs: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * `auto` probes NVENC with a real encode (the encoder is listed by Debian's ffmpeg even where no
 * GPU exists, so listing proves nothing) and falls back to libx264. A forced `nvenc` that does
 * not work is an error, not a silent fallback.
 */
export async function chooseEncoder(
  ffmpegPath: string,
  wanted: 'auto' | EncoderKind,
): Promise<EncoderChoice> {
  if (wanted === 'x264') {
    return { kind: 'x264', nvencAvailable: false, reason: 'libx264 (encoder: x264)' };
  }
  const nvenc = await encoderWorks(ffmpegPath, 'nvenc');
  if (nvenc) return { kind: 'nvenc', nvencAvailable: true, reason: 'h264_nvenc (probe succeeded)' };
  if (wanted === 'nvenc') {
    throw new Error(
      'encoder: nvenc was requested but a test encode with h264_nvenc failed: this needs an NVIDIA GPU with NVENC and an ffmpeg built with it; set encoder: auto or x264',
    );
  }
  if (!(await encoderWorks(ffmpegPath, 'x264'))) {
    throw new Error(
      `ffmpeg at ${ffmpegPath} cannot encode with libx264: install an ffmpeg with libx264`,
    );
  }
  return {
    kind: 'x264',
    nvencAvailable: false,
    reason: 'libx264 (NVENC probe failed: no usable GPU)',
  };
}
