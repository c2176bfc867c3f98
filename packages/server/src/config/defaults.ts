import { type Config, ConfigSchema } from './schema.js';

/**
 * Every setting at its default, from the schema: code that needs a default (a class built
 * without options, a test) takes it from here, so the schema is the only place defaults live.
 */
export const CONFIG_DEFAULTS: Readonly<Config> = Object.freeze(ConfigSchema.parse({}));
