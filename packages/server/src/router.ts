import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { parseConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { type AvatarService, createAvatarService } from './service.js';

export type AvatarRouter = Router & {
  /** The service behind the router: catalog, media workers, the `compiled` promise. */
  service: AvatarService;
  /** Ends every session and stops the media workers; call it when the host app shuts down. */
  close(): Promise<void>;
};

/**
 * The whole Avatar Server API as an express router, for mounting in an existing app, as the
 * original Node backend mounted `routes/avatar.js`:
 *
 *   app.use('/api/avatar', await createAvatarRouter({ videosDir: '/opt/avatar-server/videos' }));
 *
 * gives `POST /api/avatar/streams`, `POST /api/avatar/whep/avatars/default`, `/api/avatar/status`…
 * Options are the settings of config.yaml (validated the same way); URLs in answers include the
 * mount path.
 */
export async function createAvatarRouter(
  options: ConfigInput & { logger?: Logger } = {},
): Promise<AvatarRouter> {
  const { logger, ...settings } = options;
  const config = parseConfig(settings, 'createAvatarRouter options');
  const service = await createAvatarService(config, logger ? { logger } : {});
  const router = express.Router();
  router.use(service.app);
  return Object.assign(router, { service, close: () => service.close() });
}
