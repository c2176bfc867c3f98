import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarCatalog, AvatarState } from './AvatarCatalog.js';
import type { AvatarSource } from './compileAvatar.js';

export type OnDemandOptions = {
  /** On-demand avatars held at once, compiling or ready (setting `onDemandMaxAvatars`). */
  maxAvatars: number;
  /** Unused (no session) or failed this long, an on-demand avatar is dropped (`onDemandIdleSeconds`). */
  idleMs: number;
  /** On-demand compiles queued or running at once (`compileQueueMax`). */
  maxQueued: number;
  logger: Logger;
};

/**
 * A just-used avatar is not dropped to make room for another before its session had time to
 * start: `/streams` compiles, then opens the session.
 */
const FRESH_MS = 5000;

/**
 * Avatars compiled because a request asked for them (`POST /streams` with a clip pair added after
 * the start, or `use_ai: true`), as opposed to those found at start: each costs a compile (heavy
 * CPU on the machine that streams) and tens of MB of memory, so their number, their queue and
 * their life are bounded. Beyond a bound the request gets 503 with Retry-After; one without
 * sessions for `idleMs`, or one that failed that long ago, is dropped from the catalog (its cache
 * file stays, so a later request loads it quickly). Avatars found at start are never touched.
 */
export class OnDemandAvatars {
  readonly #catalog: AvatarCatalog;
  readonly #inUse: () => Iterable<string>;
  readonly #options: OnDemandOptions;
  /** Each on-demand avatar in the catalog, with when a request last asked for it or a session used it. */
  readonly #lastUsed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  /** `inUse`: the avatar id of every open session. */
  constructor(catalog: AvatarCatalog, inUse: () => Iterable<string>, options: OnDemandOptions) {
    this.#catalog = catalog;
    this.#inUse = inUse;
    this.#options = options;
  }

  /**
   * The avatar `source.id`: as the catalog holds it, or compiled now when there is room. Resolves
   * once it is ready or has failed; throws `server_busy` (503, Retry-After) when the queue or the
   * number of on-demand avatars is at its bound.
   */
  ensure(source: AvatarSource): Promise<AvatarState> {
    const known = this.#catalog.get(source.id);
    if (known) return this.#used(source);
    this.sweep();
    const states = [...this.#lastUsed.keys()].map((id) => this.#catalog.get(id)?.state);
    const compiling = states.filter((s) => s === 'compiling').length;
    if (compiling >= this.#options.maxQueued) {
      throw new AvatarServerError(
        'server_busy',
        `this server is already compiling ${compiling} avatar(s) on request, its limit (compileQueueMax); retry later, or use a video_id that is ready`,
        { retryAfterSeconds: 30 },
      );
    }
    const held = states.filter((s) => s === 'compiling' || s === 'ready').length;
    if (held >= this.#options.maxAvatars && !this.#dropLeastRecentlyUsed()) {
      throw new AvatarServerError(
        'server_busy',
        `this server holds ${held} avatars compiled on request, its limit (onDemandMaxAvatars), and all are in use; retry later, or use a video_id that is ready`,
        { retryAfterSeconds: 60 },
      );
    }
    this.#lastUsed.set(source.id, Date.now());
    this.#options.logger.info({ avatar: source.id }, 'compiling an avatar on request');
    this.#schedule();
    return this.#used(source);
  }

  /** The catalog's answer; an on-demand avatar counts as used when asked for and when it is done. */
  async #used(source: AvatarSource): Promise<AvatarState> {
    const touch = () => {
      if (this.#lastUsed.has(source.id)) this.#lastUsed.set(source.id, Date.now());
    };
    touch();
    const state = await this.#catalog.ensure(source);
    touch();
    return state;
  }

  /** The on-demand avatars the catalog holds now. */
  get ids(): string[] {
    return [...this.#lastUsed.keys()];
  }

  /** Drops the on-demand avatars unused for `idleMs`; runs on a timer while any exist. */
  sweep(now = Date.now()) {
    const used = this.#refresh(now);
    for (const [id, last] of this.#lastUsed) {
      const state = this.#catalog.get(id)?.state;
      if (state === 'compiling' || used.has(id)) continue;
      if (state === undefined || now - last >= this.#options.idleMs) this.#drop(id, 'unused');
    }
    if (this.#lastUsed.size === 0) this.close();
  }

  /** Stops the timer (the service is closing). */
  close() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Marks the avatars with open sessions as used now; returns their ids. */
  #refresh(now: number): Set<string> {
    const used = new Set(this.#inUse());
    for (const id of used) if (this.#lastUsed.has(id)) this.#lastUsed.set(id, now);
    return used;
  }

  /** Makes room: drops the least recently used on-demand avatar without sessions, if any. */
  #dropLeastRecentlyUsed(): boolean {
    const now = Date.now();
    const used = this.#refresh(now);
    const candidates = [...this.#lastUsed]
      .filter(([id, last]) => {
        const state = this.#catalog.get(id)?.state;
        return state !== 'compiling' && !used.has(id) && now - last >= FRESH_MS;
      })
      .sort((a, b) => a[1] - b[1]);
    const oldest = candidates[0];
    if (!oldest) return false;
    this.#drop(oldest[0], 'room for another');
    return true;
  }

  #drop(id: string, why: string) {
    const state = this.#catalog.get(id)?.state;
    this.#catalog.remove(id);
    this.#lastUsed.delete(id);
    this.#options.logger.info({ avatar: id, state, why }, 'on-demand avatar dropped');
  }

  #schedule() {
    if (this.#timer) return;
    const every = Math.max(250, Math.min(this.#options.idleMs / 2, 30_000));
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }
}
