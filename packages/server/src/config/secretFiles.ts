import { readFileSync } from 'node:fs';
import type { Config } from './schema.js';

/** A secret file that cannot be used; the message names the setting and the file. */
export class SecretFileError extends Error {
  override name = 'SecretFileError';
}

function read(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new SecretFileError(`'${setting}': cannot read ${file} (${reason})`);
  }
}

/** A file of tokens, one a line; blank lines and `#` comments are skipped. */
function tokenLines(setting: string, file: string, minLength: number): string[] {
  const lines = read(setting, file)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const short = lines.findIndex((line) => line.length < minLength);
  if (short !== -1) {
    throw new SecretFileError(
      `'${setting}': token ${short + 1} of ${file} is shorter than ${minLength} characters`,
    );
  }
  return lines;
}

/**
 * `tokenSecretFile`, `tokensFile` and `operatorTokensFile` read into `tokenSecret`, `tokens` and
 * `operatorTokens`. Secrets belong in a file (mode 600) or the environment: a command line is
 * readable by every local user through `ps` and `/proc/<pid>/cmdline`.
 */
export function readSecretFiles(config: Config): Config {
  let { tokenSecret, tokens } = config;
  if (config.tokenSecretFile !== undefined) {
    if (tokenSecret !== undefined) {
      throw new SecretFileError(
        "'tokenSecretFile' and 'tokenSecret' are both set: keep one (the file keeps the secret off the command line)",
      );
    }
    tokenSecret = read('tokenSecretFile', config.tokenSecretFile).trim();
    if (tokenSecret.length < 32) {
      throw new SecretFileError(
        `'tokenSecretFile': ${config.tokenSecretFile} holds ${tokenSecret.length} characters; the secret needs 32 or more`,
      );
    }
  }
  if (config.tokensFile !== undefined) {
    tokens = [...new Set([...tokens, ...tokenLines('tokensFile', config.tokensFile, 8)])];
  }
  let { operatorTokens } = config;
  if (config.operatorTokensFile !== undefined) {
    const lines = tokenLines('operatorTokensFile', config.operatorTokensFile, 16);
    operatorTokens = [...new Set([...operatorTokens, ...lines])];
  }
  let { cluster } = config;
  if (cluster.secretFile !== undefined) {
    if (cluster.secret !== undefined) {
      throw new SecretFileError(
        "'cluster.secretFile' and 'cluster.secret' are both set: keep one (the file keeps the secret off the command line)",
      );
    }
    const secret = read('cluster.secretFile', cluster.secretFile).trim();
    if (secret.length < 32) {
      throw new SecretFileError(
        `'cluster.secretFile': ${cluster.secretFile} holds ${secret.length} characters; the secret needs 32 or more`,
      );
    }
    cluster = { ...cluster, secret };
  }
  return {
    ...config,
    cluster,
    tokens,
    operatorTokens,
    ...(tokenSecret !== undefined ? { tokenSecret } : {}),
  };
}

/** Flags that put a secret on the command line, and what to use instead. */
const SECRET_FLAGS: Record<string, string> = {
  'token-secret': '--token-secret-file PATH or AVATAR_TOKEN_SECRET',
  tokens: '--tokens-file PATH or AVATAR_TOKENS',
  'operator-tokens': '--operator-tokens-file PATH or AVATAR_OPERATOR_TOKENS',
  'cluster-secret': '--cluster-secret-file PATH or AVATAR_CLUSTER_SECRET',
};

/** One warning line per secret given as a flag (visible to every local user in `ps`). */
export function secretFlagWarnings(values: Record<string, unknown>): string[] {
  return Object.entries(SECRET_FLAGS)
    .filter(([flag]) => values[flag] !== undefined)
    .map(
      ([flag, instead]) =>
        `warning: --${flag} puts a secret on the command line, where every user of this machine can read it (ps, /proc/<pid>/cmdline); use ${instead}`,
    );
}
