import { AvatarError } from './errors.js';

/** What a WHEP POST gives back. */
export type WhepAnswer = { sdp: string; sessionUrl: string; iceServers: RTCIceServer[] };

/** Longest Retry-After we honour before giving up (the server says how long a compile takes). */
const MAX_WAIT_MS = 60_000;

export function headers(token: string | undefined, type?: string): Record<string, string> {
  const h: Record<string, string> = {};
  if (type) h['Content-Type'] = type;
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

/** Rejects with AvatarError('aborted') once `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(new AvatarError('aborted', 'aborted'));
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
 * POSTs an SDP offer (draft-ietf-wish-whep §4.2). On 429/503 waits for `Retry-After` (default 2 s)
 * and tries again, so a page opened while the avatar compiles simply starts a little later.
 */
export async function postOffer(
  url: string,
  sdp: string,
  token: string | undefined,
  signal?: AbortSignal,
): Promise<WhepAnswer> {
  const started = Date.now();
  for (;;) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: headers(token, 'application/sdp'),
        body: sdp,
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw new AvatarError('aborted', 'aborted');
      throw new AvatarError('network', `cannot reach ${url}: ${(err as Error).message}`);
    }
    if (res.status === 201) {
      const location = res.headers.get('Location');
      if (!location) throw new AvatarError('server', 'WHEP answer without a Location header', 201);
      return {
        sdp: await res.text(),
        // Location may be relative: it is resolved against the endpoint, not the page.
        sessionUrl: new URL(location, new URL(url, pageUrl())).href,
        iceServers: parseIceLinks(res.headers.get('Link')),
      };
    }
    const error = await responseError(res);
    const wait = Number(res.headers.get('Retry-After') ?? 2) * 1000;
    if (error.reason !== 'unavailable' || Date.now() + wait - started > MAX_WAIT_MS) throw error;
    await sleep(wait, signal);
  }
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
export function deleteSession(url: string, token: string | undefined): Promise<void> {
  return fetch(url, { method: 'DELETE', headers: headers(token), keepalive: true }).then(
    () => undefined,
    () => undefined,
  );
}
