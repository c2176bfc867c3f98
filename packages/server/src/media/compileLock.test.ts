import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { compileTurn } from './compileLock.js';

const logger = pino({ level: 'silent' });
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The "cache file" of these tests: present once written, like a renamed compile. */
const cacheOf = (key: string) => async () => {
  const path = join(dir, `${key}.avatar`);
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
};

describe('compile lock (one compile per cluster)', () => {
  it('the first node compiles; another waits and loads the file once it is there', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const a = await compileTurn(dir, 'k', cacheOf('k'), { owner: 'a', logger });
    expect('lock' in a).toBe(true);
    let bDone = false;
    const b = compileTurn(dir, 'k', cacheOf('k'), { owner: 'b', logger, pollMs: 20 }).then((t) => {
      bDone = true;
      return t;
    });
    await new Promise((ok) => setTimeout(ok, 200));
    expect(bDone).toBe(false); // b waits while a holds the lock
    writeFileSync(join(dir, 'k.avatar'), 'compiled by a');
    if ('lock' in a) await a.lock.release();
    expect(await b).toEqual({ done: 'compiled by a' });
    expect(existsSync(join(dir, 'k.lock'))).toBe(false);
  });

  it('a lease its holder keeps renewing is not taken over, however long the compile', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const leaseMs = 300;
    const a = await compileTurn(dir, 'k', cacheOf('k'), { owner: 'a', logger, leaseMs });
    const b = compileTurn(dir, 'k', cacheOf('k'), { owner: 'b', logger, leaseMs, pollMs: 20 });
    await new Promise((ok) => setTimeout(ok, leaseMs * 4));
    expect('lock' in a && a.lock.held).toBe(true);
    writeFileSync(join(dir, 'k.avatar'), 'compiled by a');
    if ('lock' in a) await a.lock.release();
    expect(await b).toEqual({ done: 'compiled by a' });
  });

  it('a stale lease (its compiler died) is taken over, and its old holder learns it lost it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const leaseMs = 400;
    // A compiler that crashed: its lock stays, untouched for a minute.
    const lock = join(dir, 'k.lock');
    writeFileSync(lock, JSON.stringify({ owner: 'crashed', nonce: 'old', pid: 1 }));
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lock, aMinuteAgo, aMinuteAgo);
    const b = await compileTurn(dir, 'k', cacheOf('k'), { owner: 'b', logger, leaseMs });
    expect('lock' in b).toBe(true);
    const content = JSON.parse(readFileSync(lock, 'utf8')) as { owner: string; nonce: string };
    expect(content.owner).toBe('b');
    expect(content.nonce).not.toBe('old');
    if ('lock' in b) await b.lock.release();
    expect(existsSync(lock)).toBe(false);

    // A holder that stalled past its lease (here: its renewals stopped) loses the lock to the next.
    const c = await compileTurn(dir, 'k2', cacheOf('k2'), { owner: 'c', logger, leaseMs: 60_000 });
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'k2.lock'), past, past);
    const d = await compileTurn(dir, 'k2', cacheOf('k2'), { owner: 'd', logger, leaseMs });
    expect('lock' in d).toBe(true);
    if ('lock' in c) {
      // c's release must not remove d's lock.
      await c.lock.release();
      expect(JSON.parse(readFileSync(join(dir, 'k2.lock'), 'utf8')).owner).toBe('d');
    }
    if ('lock' in d) await d.lock.release();
  });

  it('several waiters on one stale lock: exactly one takes it over', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const lock = join(dir, 'k.lock');
    writeFileSync(lock, JSON.stringify({ owner: 'crashed', nonce: 'old', pid: 1 }));
    const past = new Date(Date.now() - 60_000);
    utimesSync(lock, past, past);
    const turns = ['w1', 'w2', 'w3', 'w4'].map((owner) =>
      compileTurn(dir, 'k', cacheOf('k'), { owner, logger, leaseMs: 5000, pollMs: 20 }),
    );
    // One of them holds the lock; it writes the file and releases; the others load it.
    const first = await Promise.race(turns);
    expect('lock' in first).toBe(true);
    writeFileSync(join(dir, 'k.avatar'), 'compiled once');
    if ('lock' in first) await first.lock.release();
    const all = await Promise.all(turns);
    expect(all.filter((t) => 'lock' in t)).toHaveLength(1);
    expect(all.filter((t) => 'done' in t)).toHaveLength(3);
  });
});
