import { rm } from 'node:fs/promises';
import express, { type Request, type Response, type Router } from 'express';
import {
  DECODED_RATE,
  DecodeSlots,
  decodeFile,
  receiveUpload,
  tooLarge,
  tooLong,
} from '../audio/decodeAudio.js';
import { type PcmFormat, PcmReader, parseL16ContentType } from '../audio/pcm.js';
import { findPcmWav, readPcmWav } from '../audio/pcmWav.js';
import { synthesize } from '../audio/tts.js';
import { AvatarServerError } from '../lib/errors.js';
import { asHttp } from './httpErrors.js';
import { ownedSession } from './sessionAccess.js';
import type { RouteDeps } from './whepRoutes.js';

/** Bodies that are certainly not audio: refused before any decode (415). */
const NOT_AUDIO = /^(text\/|application\/(json|x-www-form-urlencoded|xml|sdp)|multipart\/)/i;

/**
 * The session's voice over HTTP (docs/audio.md), on both session URL forms
 * (`/whep/sessions/:id/…` and `/streams/:id/…`, so forwarding by session id covers them):
 * - `POST …/audio`: a whole utterance in any format ffmpeg reads, or `audio/L16` PCM streamed in
 *   a chunked body and played as it arrives → 202 `{id, durationMs, queued}`;
 * - `DELETE …/audio`: interrupt (the voice stops, the queue is dropped, the face goes idle);
 * - `POST …/say` `{"text": "…"}`: text to speech with the configured `tts.command`.
 */
export function audioRoutes(deps: RouteDeps & { ffmpegPath: string }): Router {
  const { config, media } = deps;
  const router = express.Router();
  const limits = config.audio;
  const maxBytes = limits.maxUploadMb * 1e6;
  const slots = new DecodeSlots(limits.maxConcurrentDecodes);
  const decodeLimits = {
    maxBytes,
    maxSeconds: limits.maxUtteranceSeconds,
    timeoutMs: limits.decodeTimeoutMs,
  };

  /**
   * Decodes a file into a new utterance of the session: 202 when it is all queued. A plain PCM
   * WAV at a rate Opus takes is read as it is (pcmWav.ts); anything else goes through ffmpeg.
   */
  async function queueFile(res: Response, session: string, path: string) {
    const wav = await findPcmWav(path).catch(() => undefined);
    const { id, queued } = await asHttp(
      media.session('audioOpen', {
        session,
        rate: wav?.rate ?? DECODED_RATE,
        streaming: false,
      }),
    );
    try {
      if (wav) {
        const maxSamples = limits.maxUtteranceSeconds * wav.rate;
        let read = 0;
        const whole = await readPcmWav(path, wav, (samples) => {
          read += samples.length;
          if (read > maxSamples) return false;
          media.audioChunk(session, id, samples);
          return true;
        });
        if (!whole) throw tooLong(limits.maxUtteranceSeconds);
        if (read === 0) {
          throw new AvatarServerError('unreadable_audio', 'the WAV file has no audio samples');
        }
      } else {
        await decodeFile(deps.ffmpegPath, path, decodeLimits, (samples) =>
          media.audioChunk(session, id, samples),
        );
      }
    } catch (err) {
      await media.session('audioEnd', { session, utterance: id, cancel: true }).catch(() => {});
      throw err;
    }
    const { durationMs } = await asHttp(media.session('audioEnd', { session, utterance: id }));
    res.status(202).json({ id, durationMs, queued });
  }

  const postAudio = async (req: Request, res: Response) => {
    const session = ownedSession(res).id;
    const type = req.get('content-type');
    const pcm = parseL16ContentType(type);
    if (pcm) return streamPcm(req, res, session, pcm);
    if (type && NOT_AUDIO.test(type)) {
      throw new AvatarServerError(
        'unsupported_audio',
        `${type.split(';')[0]} is not audio: send an audio file (WAV, MP3, Ogg, FLAC…; e.g. Content-Type: audio/wav) or stream audio/L16;rate=24000;channels=1`,
      );
    }
    const declared = Number(req.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes)
      throw refuseBody(req, res, tooLarge(maxBytes));
    const release = slots.take();
    let path: string | undefined;
    try {
      path = await receiveUpload(req, maxBytes).catch((err: unknown) => {
        throw refuseBody(req, res, err);
      });
      await queueFile(res, session, path);
    } finally {
      release();
      if (path) await rm(path, { force: true });
    }
  };

  /**
   * A chunked body of raw PCM, played as it arrives. The utterance is queued at once (its place
   * in the queue is the request's arrival); a body that sends nothing for `stallMs` is ended
   * there (what arrived plays) with a 408 problem.
   */
  async function streamPcm(req: Request, res: Response, session: string, format: PcmFormat) {
    const { id, queued } = await asHttp(
      media.session('audioOpen', { session, rate: format.rate, streaming: true }),
    );
    const reader = new PcmReader(format.littleEndian);
    const maxSamples = limits.maxUtteranceSeconds * format.rate;
    let bytes = 0;
    const outcome = await new Promise<'ended' | 'stalled' | AvatarServerError>((resolve) => {
      const stall = setTimeout(() => resolve('stalled'), limits.stallMs);
      const finish = (result: 'ended' | 'stalled' | AvatarServerError) => {
        clearTimeout(stall);
        req.off('data', onData);
        resolve(result);
      };
      const onData = (chunk: Buffer) => {
        stall.refresh();
        bytes += chunk.length;
        if (bytes > maxBytes) return finish(tooLarge(maxBytes));
        const samples = reader.read(chunk);
        if (reader.samples > maxSamples) return finish(tooLong(limits.maxUtteranceSeconds));
        if (samples.length > 0) media.audioChunk(session, id, samples);
      };
      req.on('data', onData);
      req.on('end', () => finish('ended'));
      req.on('aborted', () => finish('stalled'));
      req.on('error', () => finish('stalled'));
    });
    const { durationMs } = await asHttp(media.session('audioEnd', { session, utterance: id }));
    if (outcome instanceof AvatarServerError) throw refuseBody(req, res, outcome);
    if (outcome === 'stalled') {
      throw refuseBody(
        req,
        res,
        new AvatarServerError(
          'audio_stalled',
          `no audio bytes for ${limits.stallMs} ms (setting audio.stallMs): the utterance ${id} was ended after ${durationMs} ms and plays what arrived`,
        ),
      );
    }
    res.status(202).json({ id, durationMs, queued });
  }

  const interrupt = async (_req: Request, res: Response) => {
    const session = ownedSession(res).id;
    const result = await asHttp(media.session('audioInterrupt', { session }));
    res.json({ interrupted: result.id, dropped: result.dropped });
  };

  const say = async (req: Request, res: Response) => {
    const tts = config.tts;
    if (!tts) {
      throw new AvatarServerError(
        'not_configured',
        'this server has no text to speech: set tts.command in config.yaml (e.g. ["espeak-ng", "-w", "{out}", "{text}"]), or POST audio to …/audio',
      );
    }
    const text = (req.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || text.trim() === '') {
      throw new AvatarServerError('bad_request', 'send a JSON body {"text": "what to say"}');
    }
    if (text.length > tts.maxChars) {
      throw new AvatarServerError(
        'payload_too_large',
        `the text has ${text.length} characters; at most ${tts.maxChars} (setting tts.maxChars)`,
      );
    }
    const session = ownedSession(res).id;
    const release = slots.take();
    let path: string | undefined;
    try {
      path = await synthesize(tts, text);
      await queueFile(res, session, path);
    } finally {
      release();
      if (path) await rm(path, { force: true });
    }
  };

  for (const base of ['/whep/sessions/:sessionId', '/streams/:sessionId']) {
    router
      .route(`${base}/audio`)
      .post(deps.sessionAccess, postAudio)
      .delete(deps.sessionAccess, interrupt)
      .options((_req, res) => {
        res.status(204).end();
      })
      .all(() => {
        throw new AvatarServerError('method_not_allowed', 'use POST, DELETE, OPTIONS on this URL', {
          allow: ['POST', 'DELETE', 'OPTIONS'],
        });
      });
    router
      .route(`${base}/say`)
      .post(deps.sessionAccess, express.json({ limit: '256kb', type: () => true }), say)
      .options((_req, res) => {
        res.status(204).end();
      })
      .all(() => {
        throw new AvatarServerError('method_not_allowed', 'use POST, OPTIONS on this URL', {
          allow: ['POST', 'OPTIONS'],
        });
      });
  }
  return router;
}

/**
 * An upload refused before its end: the rest of the body is discarded as it comes (nothing is
 * kept) for at most a second after the answer, so the client reads the answer (closing a socket
 * with unread bytes resets it and the answer is lost; so does `Connection: close`, which closes it
 * as soon as the answer is written), then the connection is closed: a 100 MB upload costs the
 * server what it read before the limit and a second more.
 */
function refuseBody(req: Request, res: Response, err: unknown): unknown {
  req.removeAllListeners('data');
  req.resume();
  res.once('finish', () => {
    const timer = setTimeout(() => req.destroy(), 1000);
    timer.unref();
    req.once('close', () => clearTimeout(timer));
  });
  return err;
}
