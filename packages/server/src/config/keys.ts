import { z } from 'zod';
import { ConfigSchema } from './schema.js';

/** A setting reachable from outside the file: its path in the config and its env and flag names. */
export type SettingKey = {
  path: string[];
  /** AVATAR_VIDEOS_DIR, AVATAR_ICE_USE_IPV6 */
  env: string;
  /** videos-dir, ice-use-ipv6 (as `--videos-dir`) */
  flag: string;
  schema: z.ZodType;
};

const words = (path: string[]) => path.map((p) => p.replace(/[A-Z]/g, (c) => `_${c}`)).join('_');

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

/** Every leaf setting of the schema, nested objects (e.g. `ice`) flattened. */
export function settingKeys(): SettingKey[] {
  const out: SettingKey[] = [];
  const walk = (shape: Record<string, z.ZodType>, prefix: string[]) => {
    for (const [key, value] of Object.entries(shape)) {
      const inner = unwrap(value);
      const path = [...prefix, key];
      if (inner instanceof z.ZodObject) {
        walk(inner.shape as Record<string, z.ZodType>, path);
        continue;
      }
      const w = words(path);
      out.push({
        path,
        env: `AVATAR_${w.toUpperCase()}`,
        flag: w.toLowerCase().replace(/_/g, '-'),
        schema: inner,
      });
    }
  };
  walk(ConfigSchema.shape as Record<string, z.ZodType>, []);
  return out;
}

/** A text value not readable as the setting's type; `name` is the variable or flag given. */
export class SettingValueError extends Error {}

/**
 * Text (from the environment or a flag) to the setting's type: numbers and booleans parsed,
 * lists as JSON or comma-separated (`AVATAR_CORS_ORIGINS=https://a,https://b`).
 */
export function coerceSetting(key: SettingKey, raw: string, name: string): unknown {
  const { schema } = key;
  if (schema instanceof z.ZodNumber) {
    const n = Number(raw);
    if (raw.trim() === '' || Number.isNaN(n)) {
      throw new SettingValueError(`${name}: '${raw}' is not a number`);
    }
    return n;
  }
  // `workers`: `auto` or a number.
  if (schema instanceof z.ZodUnion && /^\d+$/.test(raw.trim())) return Number(raw);
  if (schema instanceof z.ZodBoolean) {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new SettingValueError(`${name}: '${raw}' is not true or false`);
  }
  if (schema instanceof z.ZodArray || schema instanceof z.ZodTuple) {
    const text = raw.trim();
    if (text.startsWith('[')) {
      try {
        return JSON.parse(text);
      } catch {
        throw new SettingValueError(`${name}: '${raw}' is not a JSON list`);
      }
    }
    const items = text.split(',').map((s) => s.trim());
    const element = schema instanceof z.ZodArray ? unwrap(schema.element as z.ZodType) : undefined;
    if (schema instanceof z.ZodTuple || element instanceof z.ZodNumber) return items.map(Number);
    if (element instanceof z.ZodObject && 'url' in element.shape) {
      // Cluster nodes as id=url (AVATAR_CLUSTER_NODES=a=http://10.0.0.1:8765,b=…).
      return items.map((item) => {
        const at = item.indexOf('=');
        if (at < 1) {
          throw new SettingValueError(`${name}: '${item}' is not id=url (a=http://10.0.0.1:8765)`);
        }
        return { id: item.slice(0, at).trim(), url: item.slice(at + 1).trim() };
      });
    }
    // A list of ICE servers given as plain URLs.
    if (element instanceof z.ZodObject) return items.map((urls) => ({ urls }));
    return items;
  }
  return raw;
}

/** Sets `value` at `path` in `target`, creating nested objects. */
export function setPath(target: Record<string, unknown>, path: string[], value: unknown) {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
