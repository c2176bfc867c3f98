import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromFlags, loadConfig, parseConfig } from './load.js';
import { secretFlagWarnings } from './secretFiles.js';

const SECRET = 'a-token-secret-of-more-than-32-characters';

const secretFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'secret');
  writeFileSync(file, text);
  chmodSync(file, 0o600);
  return file;
};

/** Secrets kept off the command line (visible to every local user in `ps`). */
describe('secrets from files and the environment', () => {
  it('tokenSecretFile is read (trailing newline dropped), by setting, flag or environment', () => {
    const file = secretFile(`${SECRET}\n`);
    expect(parseConfig({ tokenSecretFile: file }).tokenSecret).toBe(SECRET);
    expect(
      loadConfig({
        file: 'none.yaml',
        env: {},
        overrides: configFromFlags({ 'token-secret-file': file }),
      }).tokenSecret,
    ).toBe(SECRET);
    expect(
      loadConfig({ file: 'none.yaml', env: { AVATAR_TOKEN_SECRET_FILE: file } }).tokenSecret,
    ).toBe(SECRET);
  });

  it('AVATAR_TOKEN_SECRET and AVATAR_TOKENS work without any file or flag', () => {
    const config = loadConfig({
      file: 'none.yaml',
      env: { AVATAR_TOKEN_SECRET: SECRET, AVATAR_TOKENS: 'backend-token-1,backend-token-2' },
    });
    expect(config.tokenSecret).toBe(SECRET);
    expect(config.tokens).toEqual(['backend-token-1', 'backend-token-2']);
  });

  it('tokensFile adds one token a line, skipping blank lines and # comments', () => {
    const file = secretFile('# backends\nbackend-token-1\n\n  backend-token-2  \n');
    expect(parseConfig({ tokens: ['inline-token'], tokensFile: file }).tokens).toEqual([
      'inline-token',
      'backend-token-1',
      'backend-token-2',
    ]);
  });

  it('operatorTokensFile adds operator tokens the same way', () => {
    const file = secretFile('# operators\noperator-token-0123456789\n');
    expect(parseConfig({ operatorTokensFile: file }).operatorTokens).toEqual([
      'operator-token-0123456789',
    ]);
    expect(() => parseConfig({ operatorTokensFile: secretFile('too-short\n') })).toThrow(
      /'operatorTokensFile': token 1 of .* shorter than 16 characters/,
    );
  });

  it.each([
    [
      { tokenSecretFile: '/nonexistent/secret' },
      /'tokenSecretFile': cannot read \/nonexistent\/secret \(ENOENT\)/,
    ],
    [
      { tokenSecretFile: secretFile('short\n') },
      /'tokenSecretFile': .* holds 5 characters; the secret needs 32/,
    ],
    [{ tokenSecretFile: secretFile(SECRET), tokenSecret: SECRET }, /both set: keep one/],
    [
      { tokensFile: secretFile('ok-token-1\nshort\n') },
      /'tokensFile': token 2 of .* shorter than 8/,
    ],
  ])(
    'a file that cannot be used stops the start with one line naming it (%#)',
    (input, message) => {
      expect(() => parseConfig(input)).toThrow(message);
    },
  );

  it('warns when a secret is given as a flag, and names the safe ways', () => {
    expect(secretFlagWarnings({ port: '9000' })).toEqual([]);
    const [secret, tokens, operator] = secretFlagWarnings({
      'token-secret': SECRET,
      tokens: 'a,b',
      'operator-tokens': 'c',
    });
    expect(operator).toMatch(/--operator-tokens .*--operator-tokens-file PATH/);
    expect(secret).toMatch(
      /--token-secret .*\/proc\/<pid>\/cmdline.*--token-secret-file PATH or AVATAR_TOKEN_SECRET/,
    );
    expect(tokens).toMatch(/--tokens .*--tokens-file PATH or AVATAR_TOKENS/);
    for (const line of [secret, tokens]) expect(line).not.toContain(SECRET);
  });
});
