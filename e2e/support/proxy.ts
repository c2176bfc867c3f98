import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';

/** One request as the proxy saw it, with the status it answered. */
export type Seen = { method: string; path: string; status?: number; location?: string };

/**
 * An HTTP proxy in front of the server (media still goes straight to it over UDP). It records
 * every request, so a test can assert a DELETE or a CORS preflight the page sent, and can refuse
 * WHEP POSTs or hold their answers back. It passes the Host header through, so the server's
 * absolute session URLs point at the proxy too. Extra pages (`/__sdk.mjs`, `pages`) are served
 * from memory.
 */
export type RecordingProxy = {
  url: string;
  seen: Seen[];
  /** Pages served at `/<name>` instead of being forwarded. */
  pages: Map<string, string>;
  /** When set, WHEP POSTs get this status (a problem+json) without reaching the server. */
  refusePosts?: number;
  /** When set, a WHEP POST's answer (or refusal) is held until `release()`. */
  holdPosts: boolean;
  /** Resolves when a POST is held. */
  held(): Promise<void>;
  release(): void;
  close(): Promise<void>;
};

const sdk = new URL('../../packages/client-sdk/dist/avatar.mjs', import.meta.url);

export async function startProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  let released: Promise<void>;
  let release = () => {};
  let onHeld = () => {};
  const proxy: RecordingProxy = {
    url: '',
    seen: [],
    pages: new Map(),
    holdPosts: false,
    held: () => new Promise((resolve) => (onHeld = resolve)),
    release: () => release(),
    close: () => {
      release();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const seen: Seen = { method: req.method ?? '', path: req.url ?? '/' };
    proxy.seen.push(seen);
    const page = proxy.pages.get(seen.path.slice(1));
    if (page !== undefined || seen.path === '/__sdk.mjs') {
      const js = seen.path.endsWith('.mjs');
      res.setHeader('Content-Type', js ? 'text/javascript' : 'text/html');
      // The SDK is also imported by pages on other origins (module scripts need CORS).
      res.setHeader('Access-Control-Allow-Origin', '*');
      return res.end(js ? readFileSync(sdk) : page);
    }
    const isPost = req.method === 'POST' && seen.path.startsWith('/whep/avatars/');
    const hold = async () => {
      if (!isPost || !proxy.holdPosts) return;
      released = new Promise((resolve) => (release = resolve));
      onHeld();
      await released;
    };
    const refuse = isPost ? proxy.refusePosts : undefined;
    if (refuse) {
      seen.status = refuse;
      void hold().then(() => {
        res.writeHead(refuse, { 'Content-Type': 'application/problem+json' });
        res.end(JSON.stringify({ status: refuse, detail: 'refused by the proxy' }));
      });
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      async (answer: IncomingMessage) => {
        seen.status = answer.statusCode;
        seen.location = answer.headers.location;
        // Only a created session is held (not a 503 while the server starts).
        if (answer.statusCode === 201) await hold();
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => {
      seen.status = 502;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}
