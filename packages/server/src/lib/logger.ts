import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

/** JSON logs; readable colour lines when a person watches a terminal and pino-pretty is installed. */
export function createLogger(level: string): Logger {
  const require = createRequire(import.meta.url);
  let pretty = false;
  if (process.stdout.isTTY && !process.env.CI) {
    try {
      require.resolve('pino-pretty');
      pretty = true;
    } catch {}
  }
  return pino({
    level,
    base: undefined,
    redact: ['req.headers.authorization', 'headers.authorization', 'token'],
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l' } } }
      : {}),
  });
}
