import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { canonicalAvatarId } from './http/whepRoutes.js';
import type { AvatarCatalog } from './media/AvatarCatalog.js';
import type { EncoderChoice } from './media/chooseEncoder.js';
import { type AvatarService, createAvatarService } from './service.js';
import type { MediaPool } from './workers/MediaPool.js';

export type RunningServer = {
  /** http://host:port of the listening server. */
  url: string;
  port: number;
  catalog: AvatarCatalog;
  /** The media workers that hold the sessions (`size`, `snapshot()`, `thread(i)`). */
  media: MediaPool;
  encoder: EncoderChoice;
  /** Resolves when every avatar found at start has compiled or failed. */
  compiled: Promise<void>;
  /** Stops the server; `drain: true` (SIGTERM) first lets current sessions run (drainTimeoutS). */
  close(options?: { drain?: boolean }): Promise<void>;
};

/**
 * The avatar service (service.ts) on its own HTTP server, listening at once (so /health answers
 * while a first compile runs).
 */
export async function startServer(
  config: Config,
  options: { logger?: Logger; demoDir?: string; reportSlices?: boolean } = {},
): Promise<RunningServer> {
  const service = await createAvatarService(config, options);
  const { app, catalog, media, encoder, compiled, logger } = service;
  const sources = catalog.list();
  const server: Server = createServer(app);
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => ok());
    });
  } catch (err) {
    service.close(); // stop the compiles that already started
    throw listenError(err as NodeJS.ErrnoException, config.port, config.host);
  }
  // After listen, a socket error (e.g. EMFILE under a flood) is logged, never thrown.
  server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, avatars: sources.map((s) => s.id) }, 'listening');
  let closing: Promise<void> | undefined;
  announceReady(service, config, url, options.demoDir, () => closing !== undefined);

  return {
    url,
    port,
    catalog,
    media,
    encoder,
    compiled,
    /**
     * Shutdown: `/ready` answers 503 and new sessions are refused at once. With `drain` (SIGTERM)
     * the current sessions keep streaming, and their URLs keep answering, until they have all
     * ended or `drainTimeoutS` has passed; then every session ends (its peer closes, so viewers
     * see the stream end rather than time out), the port closes and idle keep-alive sockets drop.
     */
    close(options: { drain?: boolean } = {}) {
      closing ??= (async () => {
        service.drain();
        const limitMs = config.drainTimeoutS * 1000;
        if (options.drain && limitMs > 0 && media.size > 0) {
          logger.info(
            { drainTimeoutS: config.drainTimeoutS, sessions: media.size },
            'draining: no new sessions; the current ones go on until they end or the drain times out',
          );
          const started = performance.now();
          while (media.size > 0 && performance.now() - started < limitMs) {
            await new Promise((ok) => setTimeout(ok, Math.min(250, limitMs)));
          }
        }
        logger.info({ sessions: media.size }, 'shutting down');
        const stopped = new Promise<void>((ok) => server.close(() => ok()));
        await service.close();
        server.closeIdleConnections();
        // A request still running gets a moment to finish, then its socket is closed.
        const grace = setTimeout(() => server.closeAllConnections(), 2000);
        grace.unref();
        await stopped;
        clearTimeout(grace);
      })();
      return closing;
    },
  };
}

/**
 * One line once the default avatar can be served, with the URL to open: after a first compile a
 * person watching the terminal knows when to open the page. Says why instead when it cannot be.
 */
function announceReady(
  service: AvatarService,
  config: Config,
  url: string,
  demoDir: string | undefined,
  closing: () => boolean,
) {
  const { catalog, logger } = service;
  const id = canonicalAvatarId(catalog, 'default', config.defaultAvatar);
  void catalog.settled(id).then((state) => {
    if (closing()) return;
    if (!state) {
      const found = catalog.list().map((a) => a.id);
      if (found.length) {
        logger.warn(
          { found },
          `no default avatar '${id}': the demo page and /whep/avatars/default need one (set defaultAvatar)`,
        );
      }
      return;
    }
    if (state.state !== 'ready') return; // its failure was logged with the reason
    const demo = demoDir !== undefined && existsSync(demoDir);
    const open = demo ? `${url}/` : `${url}/whep/avatars/default`;
    logger.info({ url: open, avatar: id }, demo ? `ready: open ${open}` : `ready: WHEP at ${open}`);
  });
}

/** The port cannot be had (in use, or privileged): the CLI prints the message as one line. */
export class ListenError extends Error {}

function listenError(err: NodeJS.ErrnoException, port: number, host: string): Error {
  const next = port + 1;
  const fix = `choose another port: --port ${next} or AVATAR_PORT=${next}`;
  if (err.code === 'EADDRINUSE') {
    return new ListenError(
      `port ${port} on ${host} is already in use (another avatar-server?): stop it, or ${fix}`,
    );
  }
  if (err.code === 'EACCES') {
    return new ListenError(`port ${port} on ${host} needs privileges: ${fix}`);
  }
  return err;
}
