import { ConfigSchema } from './schema.js';

/**
 * The original Python server's `config.yaml` spelt keys in snake_case and the picture size as
 * `resolution: [512, 512]`. Those files keep working: snake_case keys become our camelCase ones
 * and a square resolution becomes `size`. Returns the translated mapping; a knob that has no
 * equivalent is reported by the `unknown key` check, with a hint in `hints`.
 */
export function fromOriginalKeys(input: Record<string, unknown>): {
  config: Record<string, unknown>;
  hints: string[];
} {
  const known = new Set(Object.keys(ConfigSchema.shape));
  const config: Record<string, unknown> = {};
  const hints: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (key === 'resolution') {
      const [w, h] = Array.isArray(value) ? value : [value, value];
      if (w !== h) {
        hints.push(`'size': resolution [${w}, ${h}] is not square; the avatar is: use size: ${w}`);
        config.size = value; // fails validation, naming 'size', with the hint above
      } else config.size = w;
      continue;
    }
    if (key === 'cache_frames') {
      hints.push(
        "'cache_frames': compiled loops are always in memory; limit the disk cache with cacheMaxMb",
      );
    }
    const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    config[known.has(camel) ? camel : key] = value;
  }
  return { config, hints };
}
