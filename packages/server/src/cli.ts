#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, configFromFlags, flagNames, loadConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { secretFlagWarnings } from './config/secretFiles.js';
import { formatChecks, runDoctor } from './doctor/runDoctor.js';
import { chooseLogFormat, createLogger } from './lib/logger.js';
import { VERSION } from './lib/version.js';
import { chooseEncoder } from './media/chooseEncoder.js';
import { compileAvatar } from './media/compileAvatar.js';
import { compiledBytes } from './media/compiledAvatar.js';
import { findAvatars } from './media/findAvatars.js';
import { FfmpegNotFoundError, findFfmpeg } from './media/findFfmpeg.js';
import { ClipError } from './media/probeClip.js';
import { PrepareUsageError, runPrepare } from './prepareCommand.js';
import { ListenError, startServer } from './server.js';
import { runToken, TokenUsageError } from './tokenCommand.js';

const USAGE = `usage: avatar-server [serve|compile|doctor|prepare|token] [--config config.yaml] [--<setting> value]

  serve     compile the avatars (cached) and serve WHEP and /streams on the port (default)
  compile   compile every avatar in the videos folder, print sizes and times, exit
  doctor    check ffmpeg, encoders (libx264, NVENC), videos, cache folder and port; a fix per problem
  prepare   turn a recording into a clip for the videos folder (avatar-server prepare --help)
  token     print a signed short-lived token: token [--avatar ID] [--ttl 3600] (needs tokenSecret)

Every setting of config.yaml is also a flag (--port 9000, --videos-dir /srv/videos,
--bitrate-kbps 2000, --ffmpeg-path /usr/bin/ffmpeg, --ice-use-ipv6 true) and an AVATAR_*
environment variable (AVATAR_PORT=9000). Order: defaults < config.yaml < environment < flags.
All settings: config.example.yaml.`;

/** The demo page built by packages/demo (`npm run build`), next to this package in the monorepo. */
const DEMO_DIR = fileURLToPath(new URL('../../demo/dist', import.meta.url));

async function main(argv: string[]) {
  // prepare has options of its own (it works on one recording, not on the server's settings).
  if (argv[0] === 'prepare') return runPrepare(argv.slice(1));
  if (argv[0] === 'token') {
    console.log(runToken(argv.slice(1)));
    return;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      ...Object.fromEntries(flagNames().map((flag) => [flag, { type: 'string' as const }])),
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.version) {
    console.log(VERSION);
    return;
  }
  for (const warning of secretFlagWarnings(values)) console.error(`avatar-server: ${warning}`);
  const overrides = configFromFlags(values) as ConfigInput;
  if (values.config && !existsSync(values.config)) {
    throw new UsageError(`--config ${values.config}: no such file (omit it to use ./config.yaml)`);
  }
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides });
  const command = positionals[0] ?? 'serve';

  if (command === 'serve') {
    const server = await startServer(config, { demoDir: DEMO_DIR });
    // SIGTERM (systemd, Kubernetes, docker stop) drains: no new sessions, the current ones go on
    // for up to drainTimeoutS. SIGINT (Ctrl-C at a terminal) ends them at once. A second signal
    // (or drainTimeoutS + 10 s) exits at once.
    const stop = (drain: boolean) => () => {
      process.once('SIGINT', () => process.exit(1));
      process.once('SIGTERM', () => process.exit(1));
      setTimeout(() => process.exit(1), config.drainTimeoutS * 1000 + 10_000).unref();
      void server.close({ drain }).then(() => process.exit(0));
    };
    process.once('SIGINT', stop(false));
    process.once('SIGTERM', stop(true));
    return;
  }
  if (command === 'doctor') {
    const checks = await runDoctor(config);
    console.log(formatChecks(checks));
    const failed = checks.filter((c) => c.ok === false).length;
    console.log(failed ? `${failed} problem(s) to fix` : 'all checks passed');
    process.exitCode = failed ? 1 : 0;
    return;
  }
  if (command === 'compile') {
    const format = chooseLogFormat(config.logFormat);
    const logger = createLogger(config.logLevel, format);
    const ffmpeg = findFfmpeg({ configured: config.ffmpegPath });
    const encoder = await chooseEncoder(ffmpeg.path, config.encoder);
    const { size, fps, bitrateKbps, x264Preset } = config;
    for (const source of findAvatars(config.videosDir)) {
      const outcome = await compileAvatar(source, {
        ffmpegPath: ffmpeg.path,
        encoder: encoder.kind,
        settings: { size, fps, bitrateKbps, x264Preset },
        keyframeInterval: config.keyframeInterval,
        analysis: { trim: config.loopTrim, minLoopFraction: config.loopMinFraction },
        cacheDir: config.cacheDir,
        logger,
        progressLogMs: format === 'pretty' && process.stdout.isTTY ? 500 : 5000,
      });
      const mb = (compiledBytes(outcome.avatar) / 1e6).toFixed(1);
      const { seams, cuts } = outcome.avatar.analysis;
      const r = (n: number) => n.toFixed(2);
      console.log(
        `${source.id}: ${mb} MB compiled, ${Math.round(outcome.compileMs)} ms${outcome.fromCache ? ' (cache)' : ''}; ` +
          `seam ratio idle ${r(seams.idle.ratio)} speaking ${r(seams.speaking.ratio)}; ` +
          `cut ratio idle→speaking ${r(cuts.idle.medianRatio)} speaking→idle ${r(cuts.speaking.medianRatio)}`,
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
    err instanceof UsageError ||
    err instanceof PrepareUsageError ||
    err instanceof TokenUsageError ||
    err instanceof ClipError ||
    err instanceof ListenError
  ) {
    console.error(`avatar-server: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
