import { runFfmpeg } from './runFfmpeg.js';

/** What a clip is, read before decoding it. */
export type ClipInfo = {
  codec: string;
  width: number;
  height: number;
  fps: number;
  durationSeconds: number;
  hasAudio: boolean;
};

/** A clip that cannot be used; the message names the file and the fix. */
export class ClipError extends Error {
  override name = 'ClipError';
}

/** Largest input side we decode: beyond, one raw frame alone is tens of MB (16384² is 400 MB). */
export const MAX_INPUT_SIDE = 4096;

const VIDEO_STREAM = /Stream #\d+:\d+[^:]*: Video: (\w+)[^\n]*?, (\d+)x(\d+)/;

/**
 * Refuses an enormous picture from the header alone (`ffmpeg -i`, which exits 1 for want of an
 * output but prints the streams), before anything decodes a frame of it.
 */
async function checkHeaderSize(ffmpegPath: string, path: string) {
  const run = runFfmpeg(ffmpegPath, ['-loglevel', 'info', '-i', path], `reading ${path}`, {
    timeoutMs: 30_000,
  });
  let stderr = '';
  run.stderrText((text) => {
    stderr = text;
  });
  run.end();
  await run.done.catch(() => {});
  const video = VIDEO_STREAM.exec(stderr);
  if (!video) return; // the decoding pass says what is wrong with it
  const [width, height] = [Number(video[2]), Number(video[3])];
  if (width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE) {
    throw new ClipError(
      `${path} is ${width}×${height}: clips larger than ${MAX_INPUT_SIDE}×${MAX_INPUT_SIDE} are refused (they would take gigabytes to decode); scale it down first, e.g. ffmpeg -i in.mp4 -vf scale=1024:-2 out.mp4`,
    );
  }
}

/**
 * Reads a clip's video stream with ffmpeg itself (`ffmpeg -i` prints the streams; ffprobe is not
 * always installed next to ffmpeg, e.g. with ffmpeg-static), then decodes it to the end
 * (`-f null`) so a truncated or corrupt file is caught here, with its name, and not mid-compile.
 */
export async function probeClip(ffmpegPath: string, path: string): Promise<ClipInfo> {
  await checkHeaderSize(ffmpegPath, path);
  const run = runFfmpeg(
    ffmpegPath,
    ['-loglevel', 'info', '-nostats', '-xerror', '-i', path, '-map', '0:v:0', '-f', 'null', '-'],
    `reading ${path}`,
    { timeoutMs: 120_000 },
  );
  let stderr = '';
  run.stderrText((text) => {
    stderr = text;
  });
  run.end();
  const fix =
    'replace it with a playable MP4 (H.264) of 10–30 s; see the README for an ffmpeg recipe';
  try {
    await run.done;
  } catch {
    if (/Output file #0 does not contain any stream|matches no streams/.test(stderr)) {
      throw new ClipError(`${path} has no video stream (audio only?): ${fix}`);
    }
    const reason =
      /Invalid data found|moov atom not found|End of file/.exec(stderr)?.[0] ??
      'ffmpeg cannot read it';
    throw new ClipError(`${path} is not a readable video (${reason}): ${fix}`);
  }
  const video = /Stream #\d+:\d+[^:]*: Video: (\w+)[^\n]*?, (\d+)x(\d+)[^\n]*?, ([\d.]+) fps/.exec(
    stderr,
  );
  if (!video) throw new ClipError(`${path} has no video stream (audio only?): ${fix}`);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  const seconds = duration
    ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])
    : 0;
  return {
    codec: video[1]!,
    width: Number(video[2]),
    height: Number(video[3]),
    fps: Number(video[4]),
    durationSeconds: seconds,
    hasAudio: /Stream #\d+:\d+[^:]*: Audio:/.test(stderr),
  };
}

/** What to change about a usable clip that is outside the recommended range. */
export function clipWarnings(path: string, info: ClipInfo): string[] {
  const warnings: string[] = [];
  if (info.durationSeconds < 10 || info.durationSeconds > 30) {
    warnings.push(
      `${path} lasts ${info.durationSeconds.toFixed(1)} s: 10–30 s loops best (long enough not to repeat visibly, short enough to compile quickly)`,
    );
  }
  if (info.fps < 25 || info.fps > 30) {
    warnings.push(
      `${path} has ${info.fps} fps: record or convert at 25–30 fps (it is resampled, which can judder)`,
    );
  }
  if (info.width !== info.height) {
    warnings.push(
      `${path} is ${info.width}×${info.height}: it is centre-cropped to a square; frame the face in the centre or crop it yourself`,
    );
  }
  return warnings;
}
