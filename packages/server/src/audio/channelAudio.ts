import { AvatarServerError } from '../lib/errors.js';
import { type PcmFormat, PcmReader, pcmRate } from './pcm.js';
import type { Voice } from './Voice.js';

/**
 * PCM streamed over the data channel (docs/audio.md): `{"type":"audio-start","rate":24000}`,
 * then binary messages of raw 16-bit mono samples, then `{"type":"audio-end"}`. Browsers cannot
 * stream a fetch upload over HTTP/1.1, so this is how a page streams text-to-speech as it comes.
 * A stream that sends nothing for `stallMs` is ended (what arrived still plays).
 */
export class ChannelAudio {
  #voice: Voice;
  #limits: { stallMs: number; maxUtteranceSeconds: number };
  #current: { id: string; reader: PcmReader; format: PcmFormat; stall: NodeJS.Timeout } | undefined;

  constructor(voice: Voice, limits: { stallMs: number; maxUtteranceSeconds: number }) {
    this.#voice = voice;
    this.#limits = limits;
  }

  /** `audio-start`: opens an utterance (ending one left open). */
  start(message: { rate?: unknown; id?: unknown; endianness?: unknown }) {
    this.end();
    const rate = pcmRate(message.rate ?? 24_000);
    const endianness = message.endianness ?? 'big-endian';
    if (endianness !== 'big-endian' && endianness !== 'little-endian') {
      throw new AvatarServerError(
        'bad_request',
        `endianness must be "big-endian" (the default, as RFC 2586 L16) or "little-endian"`,
      );
    }
    const littleEndian = endianness === 'little-endian';
    const { id, queued } = this.#voice.open(rate, { streaming: true });
    this.#current = {
      id,
      reader: new PcmReader(littleEndian),
      format: { rate, littleEndian },
      stall: this.#stallTimer(),
    };
    return { id, queued };
  }

  /** A binary message: samples for the open utterance. Returns a problem, or undefined. */
  data(bytes: Buffer): string | undefined {
    const current = this.#current;
    if (!current) {
      return 'binary audio without an open stream: send {"type":"audio-start","rate":24000} first';
    }
    current.stall.refresh();
    const samples = current.reader.read(bytes);
    if (current.reader.samples > this.#limits.maxUtteranceSeconds * current.format.rate) {
      this.end();
      return `the stream exceeded ${this.#limits.maxUtteranceSeconds} s of audio and was ended: send shorter utterances`;
    }
    this.#voice.push(current.id, samples);
    return undefined;
  }

  /** `audio-end` (or a stall, or the next `audio-start`): the utterance plays to its end. */
  end(): { id: string; durationMs: number } | undefined {
    const current = this.#current;
    if (!current) return undefined;
    this.#current = undefined;
    clearTimeout(current.stall);
    const ended = this.#voice.end(current.id);
    return { id: current.id, durationMs: ended?.durationMs ?? 0 };
  }

  close() {
    if (this.#current) clearTimeout(this.#current.stall);
    this.#current = undefined;
  }

  #stallTimer() {
    const timer = setTimeout(() => this.end(), this.#limits.stallMs);
    timer.unref?.();
    return timer;
  }
}
