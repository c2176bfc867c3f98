import { execFileSync } from 'node:child_process';
import type { Page } from '@playwright/test';

/** The received audio's level, one entry per Web Audio block (128 samples), on the page clock. */
export type EarLevel = { t: number; rms: number };

/** Above this RMS (0..1) the received audio counts as sound; Opus silence and comfort noise are far below. */
export const SOUND = 0.02;

/** Blocks in a row above SOUND that make a sound (8 blocks: 21 ms at 48 kHz). */
const SUSTAINED_BLOCKS = 8;

/**
 * The sounds heard: runs of at least `minBlocks` blocks above SOUND, as [first, last] block
 * times. Shorter runs are clicks, not sounds: Chromium's receiver plays a ~6 ms click of about
 * −26 dBFS as a talkspurt starts after a silence that followed sound (measured; not in the
 * packets, whose leading silence decodes to zero), which a single-block threshold takes for the
 * onset.
 */
export function sounds(levels: readonly EarLevel[], minBlocks = SUSTAINED_BLOCKS) {
  const out: Array<{ start: number; end: number }> = [];
  let run: EarLevel[] = [];
  const close = () => {
    if (run.length >= minBlocks) out.push({ start: run[0]!.t, end: run.at(-1)!.t });
    run = [];
  };
  for (const level of levels) {
    if (level.rms > SOUND) run.push(level);
    else close();
  }
  close();
  return out;
}

/**
 * Audio made by ffmpeg from an `aevalsrc` expression (e.g. bursts of tone with known onsets),
 * `seconds` long, mono: a 48 kHz WAV, or with `pcmRate` raw 16-bit little-endian PCM at that rate.
 */
export function makeAudio(expression: string, seconds: number, pcmRate?: number): Buffer {
  const output = pcmRate ? ['-f', 's16le', '-ar', String(pcmRate)] : ['-f', 'wav'];
  return execFileSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', `aevalsrc=${expression}:s=48000:d=${seconds}`, '-ac', '1', ...output, 'pipe:1'],
    ],
    { maxBuffer: 64 << 20 },
  );
}

/** A steady 440 Hz tone at half scale, `seconds` long, as a WAV. */
export const toneWav = (seconds: number) => makeAudio('0.5*sin(2*PI*440*t)', seconds);

/**
 * Installs `window.ear` in the page: the `<video>`'s audio track measured by an AudioWorklet,
 * each block's RMS with the time it is heard (the context's output timestamp mapped to
 * performance.now()). Works on the received track, whatever the element's `muted`.
 */
export async function installEar(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const video = document.querySelector('video')!;
    const stream = video.srcObject as MediaStream;
    const track = stream.getAudioTracks()[0];
    if (!track) throw new Error('the video has no audio track');
    const ctx = new AudioContext();
    const worklet = `registerProcessor('ear', class extends AudioWorkletProcessor {
      process(inputs) {
        const x = inputs[0][0];
        if (x) { let s = 0; for (const v of x) s += v * v; this.port.postMessage([currentTime, Math.sqrt(s / x.length)]); }
        return true;
      }
    });`;
    await ctx.audioWorklet.addModule(
      URL.createObjectURL(new Blob([worklet], { type: 'text/javascript' })),
    );
    const node = new AudioWorkletNode(ctx, 'ear');
    ctx.createMediaStreamSource(new MediaStream([track])).connect(node);
    // Pulled by the graph only when connected to the destination; a zero gain keeps it silent.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(ctx.destination);
    await ctx.resume();
    const levels: { t: number; rms: number }[] = [];
    node.port.onmessage = (e: MessageEvent<[number, number]>) => {
      const [time, rms] = e.data;
      const out = ctx.getOutputTimestamp();
      const t = out.performanceTime! + (time - out.contextTime!) * 1000;
      levels.push({ t, rms });
      if (levels.length > 60_000) levels.shift();
    };
    Object.assign(window, { ear: { levels, ctx } });
  });
}

/** The levels heard so far, or those after `since` (page clock). */
export function earLevels(page: Page, since = 0): Promise<EarLevel[]> {
  return page.evaluate(
    (s) =>
      (window as unknown as { ear: { levels: EarLevel[] } }).ear.levels.filter((l) => l.t >= s),
    since,
  );
}

/** Waits until the page hears sound (`loud`) or silence (not loud) for the last `ms`. */
export async function waitForLevel(page: Page, loud: boolean, ms = 100): Promise<number> {
  const handle = await page.waitForFunction(
    ([loudNow, span, sound]) => {
      const levels = (window as unknown as { ear: { levels: EarLevel[] } }).ear.levels;
      const last = levels.at(-1);
      if (!last) return false;
      const recent = levels.filter((l) => l.t >= last.t - span);
      if (recent.length < 5 || recent[0]!.t > last.t - span * 0.8) return false;
      return recent.every((l) => l.rms > sound === loudNow) ? recent[0]!.t : false;
    },
    [loud, ms, SOUND] as const,
    { timeout: 20_000, polling: 20 },
  );
  return (await handle.jsonValue()) as number;
}
