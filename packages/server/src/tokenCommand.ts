import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import { secretFlagWarnings } from './config/secretFiles.js';
import { mintToken } from './lib/signedToken.js';

/** Wrong use of `avatar-server token`: one line saying what to fix. */
export class TokenUsageError extends Error {}

export const TOKEN_USAGE = `usage: avatar-server token [--avatar ID]... [--ttl SECONDS] [--config config.yaml]

Prints a signed token (docs/tokens.md) for Authorization: Bearer, made with the tokenSecret
setting (config.yaml, tokenSecretFile, AVATAR_TOKEN_SECRET or --token-secret-file PATH). --avatar limits it to that avatar
(repeat for more); --ttl is its lifetime (default 3600 s).`;

/**
 * `avatar-server token`: mints a short-lived token, as a customer's backend would with
 * `mintToken` — for trying the API with curl, or for a backend written in another language to
 * compare against.
 */
export function runToken(args: string[]): string {
  let values: {
    avatar?: string[];
    ttl?: string;
    config?: string;
    'token-secret'?: string;
    'token-secret-file'?: string;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        avatar: { type: 'string', multiple: true },
        ttl: { type: 'string' },
        config: { type: 'string' },
        'token-secret': { type: 'string' },
        'token-secret-file': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new TokenUsageError(`${(err as Error).message}\n${TOKEN_USAGE}`);
  }
  for (const warning of secretFlagWarnings(values)) console.error(`avatar-server: ${warning}`);
  const secret = values['token-secret'];
  const secretFile = values['token-secret-file'];
  const { tokenSecret } = loadConfig({
    ...(values.config ? { file: values.config } : {}),
    overrides: {
      ...(secret ? { tokenSecret: secret } : {}),
      ...(secretFile ? { tokenSecretFile: secretFile } : {}),
    },
  });
  if (!tokenSecret) {
    throw new TokenUsageError(
      'set tokenSecret (32+ characters) in config.yaml, tokenSecretFile, AVATAR_TOKEN_SECRET or --token-secret-file',
    );
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) {
    throw new TokenUsageError(`--ttl ${String(values.ttl)}: give a whole number of seconds`);
  }
  const avatars = values.avatar ?? [];
  return mintToken(tokenSecret, {
    ttlSeconds: ttl,
    ...(avatars.length === 1 ? { avatar: avatars[0]! } : avatars.length ? { avatar: avatars } : {}),
  });
}
