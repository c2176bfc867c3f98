import type { ChannelAudio } from '../audio/channelAudio.js';
import type { Session, SpeakingChange } from './Session.js';

/**
 * The control protocol on the WebRTC data channel, JSON text both ways:
 *   client → server  {"type":"speaking","speaking":true,"id":7}
 *   server → client  {"type":"speaking","id":7,"speaking":true,"loop":"speaking","frame":12,
 *                     "tick":345,"sentAt":1764420000123,"latencyMs":0.4}
 *   server → client  {"type":"error","id":7,"detail":"..."}   for a message it cannot use
 *   server → client  {"type":"hello","session":"…","avatar":"default","speaking":false}
 *                    once, when the channel opens
 * `id` is optional and echoed, so a client can match answers to requests.
 *
 * With an audio track (docs/audio.md):
 *   client → server  {"type":"interrupt"}  → {"type":"interrupt","interrupted":"<utterance>"|null,"dropped":n}
 *   client → server  {"type":"audio-start","rate":24000}  → {"type":"audio-start","utterance":"…","queued":n}
 *                    then binary messages of 16-bit mono PCM, then
 *   client → server  {"type":"audio-end"}  → {"type":"audio-end","utterance":"…","durationMs":n}
 *   server → client  {"type":"speech","event":"start"|"end"|"drained"|"interrupted","id":"<utterance>"}
 */

/** The first message on a control channel: which session this is and its speaking state. */
export function helloMessage(session: Session): string {
  return JSON.stringify({
    type: 'hello',
    session: session.id,
    avatar: session.avatarId,
    speaking: session.speaking,
  });
}

type Reply =
  | (SpeakingChange & { type: 'speaking'; id?: unknown })
  | { type: 'interrupt'; id?: unknown; interrupted: string | null; dropped: number }
  | { type: 'audio-start'; id?: unknown; utterance: string; queued: number }
  | { type: 'audio-end'; id?: unknown; utterance: string | null; durationMs: number }
  | { type: 'error'; id?: unknown; detail: string };

const NO_AUDIO =
  'this session has no audio track: offer a recvonly Opus audio section (or /streams with "audio": true)';

/** The reply to one client message; never rejects (a failure is an `error` reply with its `id`). */
export async function handleControlMessage(
  session: Session,
  text: string,
  audio?: ChannelAudio,
  interrupt?: () => { id: string | null; dropped: number },
): Promise<Reply> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return {
      type: 'error',
      detail: 'messages must be JSON, e.g. {"type":"speaking","speaking":true}',
    };
  }
  const m = (typeof message === 'object' && message !== null ? message : {}) as Record<
    string,
    unknown
  >;
  const id = m.id;
  if (m.type === 'interrupt' || m.type === 'audio-start' || m.type === 'audio-end') {
    if (!audio || !interrupt) return { type: 'error', id, detail: NO_AUDIO };
    try {
      if (m.type === 'interrupt') {
        audio.end();
        const { id: interrupted, dropped } = interrupt();
        return { type: 'interrupt', id, interrupted, dropped };
      }
      if (m.type === 'audio-start') {
        const { id: utterance, queued } = audio.start(m);
        return { type: 'audio-start', id, utterance, queued };
      }
      const ended = audio.end();
      return {
        type: 'audio-end',
        id,
        utterance: ended?.id ?? null,
        durationMs: ended?.durationMs ?? 0,
      };
    } catch (err) {
      return { type: 'error', id, detail: (err as Error).message };
    }
  }
  if (m.type !== 'speaking' || typeof m.speaking !== 'boolean') {
    return {
      type: 'error',
      id,
      detail:
        'unknown message: send {"type":"speaking","speaking":true|false} (with audio: interrupt, audio-start, audio-end)',
    };
  }
  try {
    const change = await session.setSpeaking(m.speaking);
    return { type: 'speaking', id, ...change };
  } catch (err) {
    // With its id, so the client can tell which request failed and why (not a timeout).
    return { type: 'error', id, detail: (err as Error).message };
  }
}
