#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { createLogger } from './lib/logger.js';
import { chooseEncoder } from './media/chooseEncoder.js';
import { compileAvatar } from './media/compileAvatar.js';
import { compiledBytes } from './media/compiledAvatar.js';
import { findAvatars } from './media/findAvatars.js';
import { FfmpegNotFoundError, findFfmpeg } from './media/findFfmpeg.js';
import { startServer } from './server.js';

const USAGE = `usage: avatar-server [serve|compile] [--config config.yaml] [--port N] [--videos-dir DIR]

  serve     compile the avatars (cached) and serve WHEP on the port (default)
  compile   compile every avatar in the videos folder, print sizes and times, exit`;

/** The demo page built by packages/demo, next to this package in the monorepo. */
const DEMO_DIR = fileURLToPath(new URL('../../demo/public', import.meta.url));

async function main(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'videos-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const overrides: ConfigInput = {};
  if (values.port !== undefined) overrides.port = Number(values.port);
  if (values['videos-dir'] !== undefined) overrides.videosDir = values['videos-dir'];
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides });
  const command = positionals[0] ?? 'serve';

  if (command === 'serve') {
    const server = await startServer(config, { demoDir: DEMO_DIR });
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  if (command === 'compile') {
    const logger = createLogger(config.logLevel);
    const ffmpeg = findFfmpeg({ configured: config.ffmpegPath });
    const encoder = await chooseEncoder(ffmpeg.path, config.encoder);
    const { size, fps, bitrateKbps, x264Preset } = config;
    for (const source of findAvatars(config.videosDir)) {
      const outcome = await compileAvatar(source, {
        ffmpegPath: ffmpeg.path,
        encoder: encoder.kind,
        settings: { size, fps, bitrateKbps, x264Preset },
        keyframeInterval: config.keyframeInterval,
        cacheDir: config.cacheDir,
        logger,
      });
      const mb = (compiledBytes(outcome.avatar) / 1e6).toFixed(1);
      console.log(
        `${source.id}: ${mb} MB compiled, ${Math.round(outcome.compileMs)} ms${outcome.fromCache ? ' (cache)' : ''}`,
      );
    }
    return;
  }
  throw new UsageError(`unknown command '${command}'\n${USAGE}`);
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: Error) => {
  // Expected failures are one line that says what to fix; anything else keeps its stack.
  if (
    err instanceof ConfigError ||
    err instanceof FfmpegNotFoundError ||
    err instanceof UsageError
  ) {
    console.error(`avatar-server: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
