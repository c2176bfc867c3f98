import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const dist = new URL('../dist/', import.meta.url);
/** The budget from the issue: a few kilobytes, an order of magnitude under hosted-avatar SDKs. */
const BUDGET = 5 * 1024;

describe('built bundles (npm run build)', () => {
  it.each(['avatar.mjs', 'avatar.iife.js'])('%s is minified and under 5 KB gzipped', (name) => {
    const file = new URL(name, dist);
    expect(existsSync(file), `${name} missing: run npm run build`).toBe(true);
    const gzipped = gzipSync(readFileSync(file), { level: 9 }).length;
    console.log(`${name}: ${gzipped} bytes min+gzip`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET);
  });

  it('has no runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(readFileSync(new URL('avatar.mjs', dist), 'utf8')).not.toMatch(/\bimport\s*[{*\w]/);
  });
});
