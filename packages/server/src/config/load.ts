import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { defaultNodeId, NODE_ID } from '../cluster/nodeId.js';
import { coerceSetting, type SettingKey, SettingValueError, setPath, settingKeys } from './keys.js';
import { fromOriginalKeys } from './originalKeys.js';
import { type Config, type ConfigInput, ConfigSchema } from './schema.js';
import { readSecretFiles, SecretFileError } from './secretFiles.js';

/** A configuration that cannot be used; the message names the key and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a configuration object, turning zod's issues into one readable line per key. */
export function parseConfig(
  input: unknown,
  source = 'configuration',
  hints: string[] = [],
): Config {
  const result = ConfigSchema.safeParse(drainAlias(input ?? {}));
  if (result.success) {
    let config: Config;
    try {
      config = readSecretFiles(result.data);
    } catch (err) {
      if (err instanceof SecretFileError) fail(`${source}: ${err.message}`);
      throw err;
    }
    const problem = clusterProblem(config);
    if (problem) fail(`${source}: ${problem}`);
    return config;
  }
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return `unknown key ${issue.keys.map((k) => `'${[...issue.path, k].join('.')}'`).join(', ')}`;
    }
    return `'${key}': ${issue.message}`;
  });
  const hint = hints.find((h) => lines.some((l) => l.includes(h.slice(0, h.indexOf(':')))));
  return fail(`${source}: ${lines.join('; ')}${hint ? ` (${hint})` : ''}`);
}

/** `drainMs` (the former setting, in ms) stands for `drainTimeoutS` when that is not given. */
function drainAlias(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const { drainMs, drainTimeoutS } = input as Record<string, unknown>;
  if (typeof drainMs !== 'number' || drainTimeoutS !== undefined) return input;
  return { ...input, drainTimeoutS: drainMs / 1000 };
}

/** A cluster of more than this node needs the secret its nodes sign forwarded requests with. */
function clusterProblem(config: Config): string | undefined {
  const { cluster } = config;
  const self = cluster.nodeId ?? defaultNodeId();
  const others = cluster.nodes.filter((n) => n.id !== self);
  const badId = cluster.nodes.find((n) => !NODE_ID.test(n.id));
  if (badId) {
    return `'cluster.nodes': '${badId.id}' is not a node id (1–63 lowercase letters, digits and -)`;
  }
  if ((others.length > 0 || cluster.dns !== undefined) && cluster.secret === undefined) {
    return "'cluster.secret': a cluster of several nodes needs a shared secret of 32+ characters (cluster.secretFile, AVATAR_CLUSTER_SECRET or AVATAR_CLUSTER_SECRET_FILE): nodes sign the requests they forward to each other with it";
  }
  return undefined;
}

function fail(message: string): never {
  throw new ConfigError(message);
}

/** Environment overrides: AVATAR_PORT=9000, AVATAR_VIDEOS_DIR=..., AVATAR_ICE_USE_IPV6=true, ... */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return fromText(
    (key) => env[key.env],
    (key) => key.env,
  );
}

/** CLI flag overrides, by the flag names of `flagNames()` (`--videos-dir`, `--bitrate-kbps`). */
export function configFromFlags(values: Record<string, unknown>): Record<string, unknown> {
  return fromText(
    (key) => {
      const v = values[key.flag];
      return typeof v === 'string' ? v : undefined;
    },
    (key) => `--${key.flag}`,
  );
}

/** Every setting's flag name (without `--`), for the CLI's argument parser. */
export function flagNames(): string[] {
  return settingKeys().map((k) => k.flag);
}

function fromText(
  read: (key: SettingKey) => string | undefined,
  name: (key: SettingKey) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of settingKeys()) {
    const raw = read(key);
    if (raw === undefined || raw === '') continue;
    try {
      setPath(out, key.path, coerceSetting(key, raw, name(key)));
    } catch (err) {
      if (err instanceof SettingValueError) fail(err.message);
      throw err;
    }
  }
  return out;
}

/** Nested objects (e.g. `ice`) merge key by key, so AVATAR_ICE_USE_IPV6 keeps the file's portRange. */
function merge(...layers: Array<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      const prev = out[k];
      const bothObjects = [prev, v].every(
        (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
      );
      out[k] = bothObjects
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
    }
  }
  return out;
}

/** Defaults ← config file (if present) ← AVATAR_* environment ← explicit overrides (CLI flags). */
export function loadConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigInput } = {},
): Config {
  const file = options.file ?? 'config.yaml';
  let fromFile: Record<string, unknown> = {};
  let hints: string[] = [];
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      fail(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    if (parsed != null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      fail(`${file}: expected a mapping of settings at the top level`);
    }
    ({ config: fromFile, hints } = fromOriginalKeys((parsed ?? {}) as Record<string, unknown>));
  }
  const merged = merge(
    fromFile,
    configFromEnv(options.env ?? process.env),
    (options.overrides ?? {}) as Record<string, unknown>,
  );
  return parseConfig(merged, existsSync(file) ? file : 'configuration', hints);
}
