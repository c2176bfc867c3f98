import { AvatarError } from './errors.js';
import type { AvatarWait } from './types.js';

/**
 * What a WHEP POST gives back, with the token that created the session: the server lets only that
 * token use the session's URLs, so later requests send it, not a refreshed one.
 */
export type WhepAnswer = {
  sdp: string;
  sessionUrl: string;
  iceServers: RTCIceServer[];
  token: TokenSource;
};

/** Longest Retry-After we honour before giving up (the server says how long a compile takes). */
const MAX_WAIT_MS = 60_000;

/** Where a request's bearer token comes from: asked again for every new session, so it may rotate. */
export type TokenSource = () => Promise<string | undefined>;

/**
 * A TokenSource from the `token` option: a fixed string, or a function called for every
 * connection attempt (so short-lived signed tokens are refreshed). A throwing function fails that request as `network`
 * (a reconnect tries again), never with a raw error.
 */
export function tokenSource(
  token: string | (() => string | Promise<string>) | undefined,
): TokenSource {
  if (typeof token !== 'function') return async () => token;
  return async () => {
    try {
      return await token();
    } catch (err) {
      throw new AvatarError(
        'network',
        `the token function failed: ${(err as Error)?.message ?? err}`,
      );
    }
  };
}

export async function headers(token: TokenSource, type?: string): Promise<Record<string, string>> {
  const h: Record<string, string> = {};
  if (type) h['Content-Type'] = type;
  const value = await token();
  if (value) h.Authorization = `Bearer ${value}`;
  return h;
}

const aborted = () => new AvatarError('aborted', 'aborted');

/** Rejects with AvatarError('aborted') once `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** An error from a non-2xx response, with the server's problem+json when it sent one. */
export async function responseError(res: Response): Promise<AvatarError> {
  const problem = await res.json().catch(() => undefined);
  return AvatarError.fromProblem(res.status, problem);
}

/**
 * `Retry-After` (seconds or an HTTP date) in ms, 2 s when absent or unreadable, never under 1 s,
 * plus up to 1 s of jitter so that the viewers of a busy server do not come back together.
 */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  const ms = value ? (/^\s*\d/.test(value) ? Number(value) * 1000 : Date.parse(value) - now) : 2000;
  return Math.max(1000, Number.isNaN(ms) ? 2000 : ms) + Math.random() * 1000;
}

/**
 * POSTs an SDP offer (draft-ietf-wish-whep §4.2). On 429/503 reports the wait to `onWait` and
 * tries again after `Retry-After`, so a page opened while the avatar compiles starts a little
 * later and can say why. It gives up after a minute without news; a compile whose `progress`
 * grows is news. An abort does not cancel a POST already sent: its session, if it is created, is
 * deleted when it arrives.
 */
export async function postOffer(
  url: string,
  sdp: string,
  token: TokenSource,
  signal?: AbortSignal,
  onWait?: (wait: AvatarWait) => void,
): Promise<WhepAnswer> {
  let started = Date.now();
  let progressed = -1;
  for (;;) {
    if (signal?.aborted) throw aborted();
    // Asked once per POST (a function token is refreshed here); the session keeps this one.
    const value = await token();
    const own: TokenSource = async () => value;
    const sent = headers(own, 'application/sdp').then((h) =>
      fetch(url, { method: 'POST', headers: h, body: sdp }),
    );
    const res = await new Promise<Response>((resolve, reject) => {
      const abort = () => {
        reject(aborted());
        void sent
          .then((r) => (r.status === 201 ? deleteSession(sessionOf(r, url), own) : undefined))
          .catch(noop);
      };
      signal?.addEventListener('abort', abort, { once: true });
      sent
        .then(resolve, (err: Error) =>
          reject(
            err instanceof AvatarError
              ? err
              : new AvatarError('network', `cannot reach ${url}: ${err.message}`),
          ),
        )
        .finally(() => signal?.removeEventListener('abort', abort));
    });
    if (res.status === 201) {
      const sessionUrl = sessionOf(res, url);
      return {
        sdp: await res.text(),
        sessionUrl,
        iceServers: parseIceLinks(res.headers.get('Link')),
        token: own,
      };
    }
    const error = await responseError(res);
    const wait = retryAfterMs(res.headers.get('Retry-After'));
    const info = waitInfo(error, wait);
    if ((info.progress ?? -1) > progressed) {
      progressed = info.progress!;
      started = Date.now();
    }
    if (error.reason !== 'unavailable' || Date.now() + wait - started > MAX_WAIT_MS) throw error;
    onWait?.(info);
    await sleep(wait, signal);
  }
}

const noop = () => {};

/** The wait a 429/503 answer asks for, with the compile's `progress`/`etaSeconds` when sent. */
export function waitInfo(error: AvatarError, retryInMs: number): AvatarWait {
  const { progress, etaSeconds } = error.problem ?? {};
  return { error, retryInMs, progress, etaSeconds };
}

/**
 * The session URL: `Location` resolved against the URL that answered (fetch follows redirects),
 * not the page. Throws without a Location.
 */
function sessionOf(res: Response, url: string): string {
  const location = res.headers.get('Location');
  if (!location) throw new AvatarError('server', 'WHEP answer without a Location header', 201);
  return new URL(location, res.url || new URL(url, pageUrl())).href;
}

/** The page's URL, so a relative endpoint works; a fixed base outside a page (tests). */
function pageUrl(): string {
  return typeof location === 'undefined' ? 'http://localhost/' : location.href;
}

/** ICE servers from `Link: <stun:…>; rel="ice-server"; username="u"; credential="c"` (WHEP §4.6). */
export function parseIceLinks(header: string | null): RTCIceServer[] {
  const servers: RTCIceServer[] = [];
  for (const link of header?.split(/,(?=\s*<)/) ?? []) {
    const url = /<([^>]+)>/.exec(link)?.[1];
    if (!url || !/rel="?ice-server"?/.test(link)) continue;
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(link)?.[1];
    const server: RTCIceServer = { urls: url };
    const username = param('username');
    const credential = param('credential');
    if (username !== undefined) server.username = username;
    if (credential !== undefined) server.credential = credential;
    servers.push(server);
  }
  return servers;
}

/** Ends a session; `keepalive` lets the request outlive a closing page. Errors are ignored. */
export function deleteSession(url: string, token: TokenSource): Promise<void> {
  return headers(token)
    .then((h) => fetch(url, { method: 'DELETE', headers: h, keepalive: true }))
    .then(noop, noop);
}
