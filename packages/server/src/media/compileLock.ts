import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * One compile per cluster: nodes that share the cache folder (a ReadWriteMany volume) take a
 * lock file `<key>.lock` before compiling the avatar `key`. The first to create it (`O_EXCL`,
 * atomic on local file systems and NFSv4) compiles; the others wait, polling for the finished
 * cache file (written under a temporary name and renamed: avatarCache.ts), and load it.
 *
 * The lock is a lease: its holder touches it every `leaseMs / 4` while it compiles. A lock not
 * touched for `leaseMs` belonged to a compiler that died (a crashed or killed pod), and a waiter
 * takes it over: it renames the file away (only one rename of a given file succeeds), checks it
 * moved the stale lock it saw and not a fresh one (else puts that one back), and competes to
 * create a new one. A lost race costs at worst a second compile of the same avatar, never a
 * damaged file: the cache file appears only by rename, complete and checksummed.
 */

export type LockOptions = {
  /** Who compiles, for the log and the lock file (the node id). */
  owner: string;
  logger: Logger;
  /** A lock untouched this long is stale. Default 30 s. */
  leaseMs?: number;
  /** How often a waiter looks for the cache file or a stale lock. Default 500 ms. */
  pollMs?: number;
};

export type CompileLock = {
  /** False once another node took the lock over (this compile still finishes). */
  readonly held: boolean;
  release(): Promise<void>;
};

type LockContent = { owner: string; nonce: string; host: string; pid: number; since: string };

const sleep = (ms: number) =>
  new Promise<void>((ok) => {
    setTimeout(ok, ms).unref();
  });

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

async function create(path: string, owner: string): Promise<LockContent | undefined> {
  const content: LockContent = {
    owner,
    nonce: randomBytes(12).toString('base64url'),
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
  };
  try {
    const file = await open(path, 'wx');
    try {
      await file.writeFile(JSON.stringify(content));
    } finally {
      await file.close();
    }
    return content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
}

/** Moves a stale lock (the one whose nonce we read) out of the way; true if it was that one. */
async function takeOver(path: string, staleNonce: string | undefined): Promise<boolean> {
  const grave = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, grave);
  } catch {
    return false; // someone else moved it first
  }
  const moved = await readLock(grave);
  if (moved?.nonce !== staleNonce) {
    // A fresh lock was made between our look and our rename: put it back unless replaced again.
    await link(grave, path).catch(() => {});
    await rm(grave, { force: true });
    return false;
  }
  await rm(grave, { force: true });
  return true;
}

/**
 * Waits for this node's turn to compile cache entry `key` in `dir`: resolves with the lock to
 * hold while compiling, or with `done` once `finished()` (the cache file, complete) is there.
 */
export async function compileTurn<T>(
  dir: string,
  key: string,
  finished: () => Promise<T | null>,
  options: LockOptions,
): Promise<{ lock: CompileLock } | { done: T }> {
  const path = join(dir, `${key}.lock`);
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 500;
  const log = options.logger;
  let waitingSaid = false;
  let lastCache = '';
  for (;;) {
    const mine = await create(path, options.owner);
    if (mine) {
      // The cache file may have appeared between our miss and our lock.
      const ready = await finished();
      if (ready) {
        await rm(path, { force: true });
        return { done: ready };
      }
      return { lock: holdLock(path, mine.nonce, leaseMs, log) };
    }
    const cache = await stat(join(dir, `${key}.avatar`)).catch(() => undefined);
    const cacheSeen = cache ? `${cache.size}:${cache.mtimeMs}` : '';
    if (cache && cacheSeen !== lastCache) {
      lastCache = cacheSeen;
      const ready = await finished();
      if (ready) return { done: ready };
    }
    const lock = await stat(path).catch(() => undefined);
    if (lock && Date.now() - lock.mtimeMs > leaseMs) {
      const stale = await readLock(path);
      log.warn(
        { lock: path, holder: stale?.owner, untouchedMs: Math.round(Date.now() - lock.mtimeMs) },
        'compile lock is stale (its compiler stopped): taking it over',
      );
      await takeOver(path, stale?.nonce);
      continue;
    }
    if (lock && !waitingSaid) {
      waitingSaid = true;
      const holder = await readLock(path);
      log.info({ holder: holder?.owner }, 'another node compiles this avatar: waiting for it');
    }
    await sleep(pollMs);
  }
}

function holdLock(path: string, nonce: string, leaseMs: number, log: Logger): CompileLock {
  let held = true;
  const renew = setInterval(async () => {
    const now = await readLock(path);
    if (now?.nonce !== nonce) {
      held = false;
      clearInterval(renew);
      log.warn({ lock: path }, 'compile lock taken over by another node; finishing this compile');
      return;
    }
    const t = new Date();
    await utimes(path, t, t).catch(() => {});
  }, leaseMs / 4);
  renew.unref();
  return {
    get held() {
      return held;
    },
    async release() {
      clearInterval(renew);
      if (held && (await readLock(path))?.nonce === nonce) await rm(path, { force: true });
      held = false;
    },
  };
}
