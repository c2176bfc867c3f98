import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Keeps the compiled-avatar cache folder under `maxBytes` (the `cacheMaxMb` setting) by removing
 * the least recently used files (written, or loaded: avatarCache.ts touches a file it loads). Loaded avatars live in memory, so removing a file only costs
 * a compile at the next start. Returns the names removed.
 */
export async function pruneCache(dir: string, maxBytes: number): Promise<string[]> {
  if (maxBytes <= 0) return [];
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) =>
    n.endsWith('.avatar'),
  );
  const files = await Promise.all(
    names.map(async (name) => ({ name, ...(await stat(join(dir, name))) })),
  );
  files.sort((a, b) => b.mtimeMs - a.mtimeMs);
  let total = 0;
  const removed: string[] = [];
  for (const [i, file] of files.entries()) {
    total += file.size;
    // The newest file always stays, even when it alone is larger than the limit.
    if (i > 0 && total > maxBytes) {
      await rm(join(dir, file.name), { force: true });
      removed.push(file.name);
    }
  }
  return removed;
}
