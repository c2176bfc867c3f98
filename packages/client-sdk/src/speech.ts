import { sessionPath } from './control.js';
import { AvatarError } from './errors.js';
import type { SpeakOptions, SpeechResult, SpeechSource } from './types.js';
import { headers, responseError, sleep, type TokenSource } from './whep.js';

/** Data channel messages stay well under every browser's SCTP message limit. */
const CHUNK = 16_384;
/** Streamed PCM waits while this much is still queued on the channel (backpressure). */
const HIGH_WATER = 1 << 20;

/** A failed fetch (offline, CORS, a bad URL) as the SDK's own error. */
const net = (err: Error): never => {
  throw new AvatarError('network', err.message);
};

type Emit = (event: 'speechstart' | 'speechend', speech: SpeechResult) => void;

/**
 * The session's voice: utterances POSTed to `<session>/audio` (or PCM streamed on the data
 * channel), each settled by the server's `speech` events, which the page also hears.
 */
export function createSpeech(
  stream: MediaStream,
  dc: RTCDataChannel,
  sessionUrl: string,
  token: TokenSource,
  emit: Emit,
  ask: <R>(message: object) => Promise<R>,
) {
  const waiting = new Map<string, (r: SpeechResult | Error) => void>();
  /** Utterances the server finished before their 202 was read (a very short clip). */
  const early = new Map<string, SpeechResult>();
  let playing: string | undefined;
  /**
   * After an interrupt the browser still holds ~70 ms of the voice (its jitter buffer, the output
   * device): the received track is silenced here at once and heard again 150 ms after the server
   * stopped, when that is played out (docs/audio.md, "When the voice stops"). An utterance sent
   * right after may lose up to its first 60 ms; text to speech starts with more silence.
   */
  let hush: ReturnType<typeof setTimeout> | undefined;
  const silence = (on?: boolean) => {
    clearTimeout(hush);
    for (const track of stream.getAudioTracks()) track.enabled = !on;
  };

  /** Kept for a 202 not read yet; bounded, as other clients' utterances are never asked for. */
  const remember = (r: SpeechResult) => {
    if (early.set(r.id, r).size > 32) early.delete(early.keys().next().value!);
  };
  const settleAll = (r: (id: string) => SpeechResult | Error) => {
    for (const [id, settle] of waiting) settle(r(id));
    waiting.clear();
  };

  /** Resolves when the utterance `id` has played or was interrupted. */
  const played = (id: string) =>
    new Promise<SpeechResult>((resolve, reject) => {
      const known = early.get(id);
      if (known) return resolve(known);
      waiting.set(id, (r) => (r instanceof Error ? reject(r) : resolve(r)));
    });

  /** Sends PCM over the data channel: browsers cannot stream a fetch body over HTTP/1.1. */
  async function streamed(pcm: ReadableStream<Uint8Array | Int16Array>, rate: number) {
    if (dc.readyState !== 'open') throw new AvatarError('network', 'the data channel is not open');
    // The server names the utterance; L16 is big-endian by default, TTS APIs give little-endian.
    const { utterance } = await ask<{ utterance: string }>({
      type: 'audio-start',
      rate,
      endianness: 'little-endian',
    });
    let over = false;
    const done = played(utterance).finally(() => {
      over = true;
    });
    const reader = pcm.getReader();
    try {
      while (!over) {
        const { value, done: end } = await reader.read();
        if (end) break;
        // Chunk boundaries may split a sample: the server keeps an odd byte for the next one.
        const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        for (let i = 0; i < bytes.length; i += CHUNK) dc.send(bytes.slice(i, i + CHUNK));
        while (dc.bufferedAmount > HIGH_WATER && dc.readyState === 'open') await sleep(10);
      }
    } finally {
      if (over) void reader.cancel().catch(() => {});
      else if (dc.readyState === 'open') dc.send('{"type":"audio-end"}');
    }
    return done;
  }

  return {
    async speak(source: SpeechSource, options?: SpeakOptions): Promise<SpeechResult> {
      if (source instanceof ReadableStream) return streamed(source, options?.rate ?? 24_000);
      let body: BodyInit = source as ArrayBuffer | Blob;
      if (typeof source === 'string' || source instanceof URL)
        source = await fetch(source).catch(net);
      if (source instanceof Response) {
        if (!source.ok) throw await responseError(source);
        body = await source.blob();
      }
      const type = (body as Blob).type || 'application/octet-stream';
      const res = await fetch(sessionPath(sessionUrl, 'audio'), {
        method: 'POST',
        headers: await headers(token, type),
        body,
      }).catch(net);
      if (!res.ok) throw await responseError(res);
      return played(((await res.json()) as { id: string }).id);
    },
    /** Stops the voice and drops the queue: on the data channel, else `DELETE <session>/audio`. */
    async interrupt(): Promise<void> {
      silence(true);
      try {
        if (dc.readyState === 'open') return void (await ask({ type: 'interrupt' }));
        const res = await fetch(sessionPath(sessionUrl, 'audio'), {
          method: 'DELETE',
          headers: await headers(token),
        }).catch(net);
        if (!res.ok) throw await responseError(res);
      } finally {
        hush = setTimeout(silence, 150);
      }
    },
    /** A `speech` message from the server: events for the page, settled utterances. */
    event({ event, id }: Record<string, unknown>) {
      const key = String(id);
      const interrupted = event === 'interrupted';
      if (event === 'start') {
        playing = key;
        emit('speechstart', { id: key, interrupted });
      } else if (event === 'end') {
        playing = undefined;
        const r = { id: key, interrupted };
        emit('speechend', r);
        const settle = waiting.get(key);
        waiting.delete(key);
        if (settle) settle(r);
        else remember(r);
      } else if (interrupted || event === 'drained') {
        // An interrupt ends the utterance playing (if any) and drops the queue behind it.
        if (interrupted && playing) emit('speechend', { id: playing, interrupted });
        // A file plays while it is decoded: it may be cut before its 202 is read.
        if (interrupted) remember({ id: key, interrupted });
        playing = undefined;
        settleAll((id) => ({ id, interrupted }));
      }
    },
    /** Fails what is still waiting (the connection is gone, or the avatar closed). */
    fail(error: AvatarError) {
      settleAll(() => error);
    },
  };
}
