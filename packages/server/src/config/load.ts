import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type Config, type ConfigInput, ConfigSchema } from './schema.js';

/** A configuration that cannot be used; the message names the key and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a configuration object, turning zod's issues into one readable line per key. */
export function parseConfig(input: unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return `unknown key ${issue.keys.map((k) => `'${[...issue.path, k].join('.')}'`).join(', ')}`;
    }
    return `'${key}': ${issue.message}`;
  });
  return fail(`${source}: ${lines.join('; ')}`);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

/** Environment overrides: AVATAR_PORT=9000, AVATAR_VIDEOS_DIR=..., AVATAR_ENCODER=x264, ... */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const shape = ConfigSchema.shape;
  for (const key of Object.keys(shape) as Array<keyof typeof shape>) {
    const name = `AVATAR_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const inner = unwrap(shape[key]);
    out[key] =
      inner instanceof z.ZodNumber
        ? Number(raw)
        : inner instanceof z.ZodBoolean
          ? raw === 'true'
          : raw;
  }
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

/** Defaults ← config file (if present) ← AVATAR_* environment ← explicit overrides (CLI flags). */
export function loadConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigInput } = {},
): Config {
  const file = options.file ?? 'config.yaml';
  let fromFile: Record<string, unknown> = {};
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
    fromFile = (parsed ?? {}) as Record<string, unknown>;
  }
  const merged = {
    ...fromFile,
    ...configFromEnv(options.env ?? process.env),
    ...options.overrides,
  };
  return parseConfig(merged, existsSync(file) ? file : 'configuration');
}
