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
  | { type: 'error'; id?: unknown; detail: string };

/** The reply to one client message; never rejects (a failure is an `error` reply with its `id`). */
export async function handleControlMessage(session: Session, text: string): Promise<Reply> {
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
  if (m.type !== 'speaking' || typeof m.speaking !== 'boolean') {
    return {
      type: 'error',
      id,
      detail: 'unknown message: send {"type":"speaking","speaking":true|false}',
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
