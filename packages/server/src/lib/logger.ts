import pino, { type Logger } from 'pino';
import { prettyDestination } from './prettyLog.js';

/** How log lines are written: readable lines for a person, JSON lines for machines. */
export type LogFormat = 'pretty' | 'json';

/**
 * The setting `logFormat`: `auto` is readable lines when stdout is a terminal and JSON otherwise,
 * so systemd, Docker and log collectors (never a terminal) get JSON without being told.
 */
export function chooseLogFormat(
  setting: 'auto' | LogFormat,
  stdout: { isTTY?: boolean } = process.stdout,
): LogFormat {
  if (setting !== 'auto') return setting;
  return stdout.isTTY ? 'pretty' : 'json';
}

/**
 * Never written, in either format: the Authorization header (requests are logged by method and
 * URL only, this is the second lock) and anything named like a token or secret.
 */
const REDACTED = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'token',
  'tokens',
  'tokenSecret',
  '*.authorization',
  '*.token',
  '*.tokens',
  '*.tokenSecret',
];

/** Where log lines go: stdout, or a stream a test reads. */
export type LogOutput = { write(text: string): unknown; isTTY?: boolean; columns?: number };

/** The server's logger: pino, JSON lines on stdout or readable lines (lib/prettyLog.ts). */
export function createLogger(
  level: string,
  format: LogFormat = 'json',
  stdout: LogOutput = process.stdout,
): Logger {
  const options = {
    level,
    base: undefined,
    redact: { paths: REDACTED, censor: '[redacted]' },
  };
  if (format === 'json') {
    // pino's own stdout writer unless told otherwise.
    return stdout === process.stdout ? pino(options) : pino(options, stdout);
  }
  const terminal = stdout.isTTY === true;
  return pino(
    options,
    prettyDestination(stdout, {
      color: terminal && !process.env.NO_COLOR,
      redraw: terminal,
      columns: stdout.columns,
    }),
  );
}

/** The parts of the media path that log (at debug: off unless `--log-level debug`). */
export type MediaModule = 'webrtc' | 'session' | 'rtp';

let mediaParent: Logger | undefined;
const mediaLoggers = new Map<MediaModule, Logger>();

/**
 * Makes `logger` the parent of the media path's module loggers. The media path's objects (a peer,
 * a session, a packetized avatar) are made deep inside the session code, so they find their
 * logger here instead of being handed one through every constructor; the service sets it once.
 */
export function setMediaLogger(logger: Logger) {
  mediaParent = logger;
  mediaLoggers.clear();
}

/** The logger of one module of the media path, `{ module }` on every line; silent until set. */
export function mediaLogger(module: MediaModule): Logger {
  let logger = mediaLoggers.get(module);
  if (!logger) {
    logger = (mediaParent ?? silent()).child({ module });
    mediaLoggers.set(module, logger);
  }
  return logger;
}

let silentLogger: Logger | undefined;
const silent = () => {
  silentLogger ??= pino({ level: 'silent' });
  return silentLogger;
};
