/** Public API of the server package, for embedding and for tests. */
export { ConfigError, loadConfig, parseConfig } from './config/load.js';
export { type Config, type ConfigInput, ConfigSchema } from './config/schema.js';
export { createApp } from './http/app.js';
export { FfmpegNotFoundError, findFfmpeg } from './media/findFfmpeg.js';
export { type RunningServer, startServer } from './server.js';
export type { SpeakingChange } from './session/Session.js';
