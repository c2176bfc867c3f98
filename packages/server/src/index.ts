/** Public API of the server package, for embedding and for tests. */
export { ConfigError, loadConfig, parseConfig } from './config/load.js';
export { type Config, type ConfigInput, ConfigSchema } from './config/schema.js';
export { createApp } from './http/app.js';
export { openApiDocument } from './http/openapi.js';
export { mintToken, type TokenClaims, verifyToken } from './lib/signedToken.js';
export { FfmpegNotFoundError, findFfmpeg } from './media/findFfmpeg.js';
export { FrameProcessorError } from './media/processFrames.js';
export { type AvatarRouter, createAvatarRouter } from './router.js';
export { type RunningServer, startServer } from './server.js';
export { type AvatarService, createAvatarService } from './service.js';
export type { SpeakingChange } from './session/Session.js';
