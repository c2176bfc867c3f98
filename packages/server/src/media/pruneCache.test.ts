import { existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCachedAvatar } from './avatarCache.js';
import { pruneCache } from './pruneCache.js';

describe('cacheMaxMb prunes the least recently used cache files', () => {
  it('a file loaded at start counts as used: the unused one goes, not the oldest written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-'));
    const hour = 3600;
    const now = Date.now() / 1000;
    for (const [key, ageHours] of [
      ['loadedatstart', 3],
      ['unused', 2],
      ['newest', 1],
    ] as const) {
      writeFileSync(join(dir, `${key}.avatar`), Buffer.alloc(100));
      utimesSync(join(dir, `${key}.avatar`), now - ageHours * hour, now - ageHours * hour);
    }
    // The server loads it (the bytes here are no avatar: a miss, but a use of the file all the same).
    await readCachedAvatar(dir, 'loadedatstart');
    expect(await pruneCache(dir, 250)).toEqual(['unused.avatar']);
    expect(existsSync(join(dir, 'loadedatstart.avatar'))).toBe(true);
    expect(existsSync(join(dir, 'newest.avatar'))).toBe(true);
  });
});
