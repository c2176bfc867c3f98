import { AvatarError } from './errors.js';
import { headers, responseError, type TokenSource } from './whep.js';

/** The server's confirmation of a switch (the data channel reply and the HTTP response). */
export type SpeakingReply = { speaking: boolean; latencyMs: number; tick: number; sentAt: number };

/** How long a switch may take to be confirmed before it counts as lost. */
const REPLY_MS = 5000;

/**
 * Requests on the data channel, answered by `id` (`ask`), and the server's `speech` events.
 * Sends speaking changes on the data channel (no HTTP round trip, same path as the video), or by
 * `POST <session>/speaking` while the channel is not open. Replies are matched by `id`.
 */
export function createControl(
  dc: RTCDataChannel,
  sessionUrl: string,
  token: TokenSource,
  onEvent: (m: Record<string, unknown>) => void,
) {
  let nextId = 1;
  // biome-ignore lint/suspicious/noExplicitAny: each request knows the shape of its reply.
  const pending = new Map<number, (reply: any) => void>();
  dc.addEventListener('message', (e) => {
    let m: { id?: number; type?: string; detail?: string } | undefined;
    try {
      m = JSON.parse(e.data as string);
    } catch {}
    if (m?.type === 'speech') return onEvent(m as Record<string, unknown>);
    const settle = m && typeof m === 'object' && pending.get(m.id!);
    if (!settle) return;
    pending.delete(m!.id!);
    settle(m!.type === 'error' ? new AvatarError('bad-request', m!.detail!) : m);
  });

  /** Sends a message with a fresh `id`; resolves with the server's reply to it. */
  function ask<R>(message: object): Promise<R> {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new AvatarError('timeout', 'the server did not answer'));
      }, REPLY_MS);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        reply instanceof Error ? reject(reply) : resolve(reply);
      });
      dc.send(JSON.stringify({ ...message, id }));
    });
  }

  async function overHttp(speaking: boolean): Promise<SpeakingReply> {
    const res = await fetch(sessionPath(sessionUrl, 'speaking'), {
      method: 'POST',
      headers: await headers(token, 'application/json'),
      body: JSON.stringify({ speaking }),
      signal: AbortSignal.timeout(REPLY_MS),
    }).catch((err: Error) => {
      throw new AvatarError(err.name === 'TimeoutError' ? 'timeout' : 'network', err.message);
    });
    if (!res.ok) throw await responseError(res);
    return res.json();
  }

  return {
    send: (speaking: boolean) =>
      dc.readyState === 'open'
        ? ask<SpeakingReply>({ type: 'speaking', speaking })
        : overHttp(speaking),
    ask,
    /** Fails what is still waiting (the connection is gone). */
    fail() {
      for (const settle of pending.values()) settle(new AvatarError('network', 'connection lost'));
      pending.clear();
    },
  };
}

/** `<session URL>/<name>`: new URL keeps a query string (a signed session URL) where `+` would not. */
export function sessionPath(sessionUrl: string, name: string): URL {
  const target = new URL(sessionUrl);
  target.pathname = target.pathname.replace(/\/?$/, `/${name}`);
  return target;
}
