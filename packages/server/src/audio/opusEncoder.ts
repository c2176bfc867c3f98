import OpusScript from 'opusscript';

/** The input rates the voice accepts (ffmpeg decodes to 48 kHz; streamed L16 may be 16 or 24 kHz). */
export const PCM_RATES = [16_000, 24_000, 48_000] as const;
export type PcmRate = (typeof PCM_RATES)[number];

/** Opus bitrate for one mono voice: transparent for speech, a small share of a video stream. */
const BITRATE = 32_000;
/**
 * libopus's complexity (0–10, default 10): 5, as WebRTC uses on phones, costs about 30 % less CPU
 * per speaking stream than 10 (docs/benchmarks.md, "Opus encoder"); below 5 libopus's CELT
 * encoder skips its pitch pre-filter, which voiced speech benefits from.
 */
const COMPLEXITY = 5;
/** libopus's OPUS_SET_COMPLEXITY request (opus_defines.h). */
const OPUS_SET_COMPLEXITY = 4010;

/**
 * A real Opus encoder (libopus 1.4 compiled to WebAssembly: the `opusscript` package, no native
 * build, nothing downloaded at install), mono, 20 ms frames. Opus encodes 16 and 24 kHz input
 * natively, so streamed PCM needs no resampling; the packets decode at 48 kHz as RTP requires.
 * Chosen over an ffmpeg libopus process per speaking session by measurement (docs/benchmarks.md,
 * "Opus encoder").
 */
export class OpusEncoder {
  readonly rate: PcmRate;
  /** Samples in one 20 ms frame at this rate. */
  readonly frameSamples: number;
  #opus: OpusScript;

  constructor(rate: PcmRate) {
    this.rate = rate;
    this.frameSamples = rate / 50;
    this.#opus = new OpusScript(rate, 1, OpusScript.Application.AUDIO);
    this.#opus.setBitrate(BITRATE);
    this.#opus.encoderCTL(OPUS_SET_COMPLEXITY, COMPLEXITY);
  }

  /** One 20 ms frame of mono samples (exactly `frameSamples`) → one Opus packet. */
  encode(frame: Int16Array): Buffer {
    const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    return this.#opus.encode(bytes, this.frameSamples);
  }

  delete() {
    this.#opus.delete();
  }
}

/**
 * Compiles the encoder's WebAssembly now: the first encoder otherwise compiles it on a session's
 * first audio frame, stalling that worker's event loop (measured: ~100–200 ms, frames skipped).
 */
export function warmUpOpus() {
  new OpusEncoder(48_000).delete();
}
