import type { Logger } from 'pino';
import { type PacketizedAvatar, packetizeAvatar } from '../rtp/packetizedAvatar.js';
import { type AvatarSource, type CompileOptions, compileAvatar } from './compileAvatar.js';
import { type AvatarAnalysis, compiledBytes } from './compiledAvatar.js';
import type { CompileProgress } from './compileProgress.js';
import { pruneCache } from './pruneCache.js';

export type AvatarState =
  | {
      id: string;
      state: 'compiling';
      /** Share of the compile done, 0–1 (0 while it waits for another avatar's compile). */
      progress: number;
      /** Seconds left, once the rate of the work done tells (compileProgress.ts). */
      etaSeconds?: number | undefined;
    }
  | { id: string; state: 'failed'; error: string }
  | {
      id: string;
      state: 'ready';
      avatar: PacketizedAvatar;
      frames: { idle: number; speaking: number };
      bytes: number;
      compileMs: number;
      fromCache: boolean;
      /** Seam and cut scores, and what to change about the clips. */
      analysis: AvatarAnalysis;
    };

/**
 * The avatars this server knows and where each one is in its life: compiling, ready or failed.
 * Avatars compile one after another in the background (each encode already uses every core), and
 * one avatar failing never stops the others.
 */
export type CatalogOptions = CompileOptions & {
  maxRtpPayload: number;
  /** Keep the cache folder under this many bytes (0: no limit). */
  cacheMaxBytes?: number;
  /** Called after each avatar compiled (or loaded) or failed: metrics. */
  onCompiled?: (state: AvatarState) => void;
  /**
   * Rewrites errors and clip warnings before they are kept for public answers (`/avatars`,
   * `/status`, problem details), e.g. host paths out (lib/publicPaths.ts); the log keeps the
   * original text.
   */
  publicText?: (text: string) => string;
};

export class AvatarCatalog {
  #states = new Map<string, AvatarState>();
  #done = new Map<string, Promise<void>>();
  #options: CatalogOptions;
  #logger: Logger;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: CatalogOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /** Queues the avatars for compilation; resolves when all of these have compiled or failed. */
  compile(sources: AvatarSource[]): Promise<void> {
    const runs = sources.map((source) => {
      this.#states.set(source.id, { id: source.id, state: 'compiling', progress: 0 });
      const run = this.#queue.then(() => this.#compileOne(source));
      this.#queue = run;
      this.#done.set(source.id, run);
      return run;
    });
    return Promise.all(runs).then(() => {});
  }

  /**
   * The avatar `source.id`, compiled first if this catalog has never seen it (the original API's
   * clip pairs are compiled on first use). Resolves once it is ready or has failed.
   */
  async ensure(source: AvatarSource): Promise<AvatarState> {
    if (!this.#states.has(source.id)) void this.compile([source]);
    await this.#done.get(source.id);
    return this.#states.get(source.id)!;
  }

  async #compileOne(source: AvatarSource) {
    try {
      const outcome = await compileAvatar(source, {
        ...this.#options,
        onProgress: (p) => this.#setProgress(source.id, p),
      });
      const { avatar } = outcome;
      this.#states.set(source.id, {
        id: source.id,
        state: 'ready',
        avatar: packetizeAvatar(avatar, this.#options.maxRtpPayload),
        frames: { idle: avatar.loops.idle.frameCount, speaking: avatar.loops.speaking.frameCount },
        bytes: compiledBytes(avatar),
        compileMs: Math.round(outcome.compileMs),
        fromCache: outcome.fromCache,
        analysis: this.#publicAnalysis(avatar.analysis),
      });
      if (!outcome.fromCache && this.#options.cacheMaxBytes) {
        const removed = await pruneCache(this.#options.cacheDir, this.#options.cacheMaxBytes);
        if (removed.length) this.#logger.info({ removed }, 'cache over cacheMaxMb: pruned');
      }
    } catch (err) {
      const error = (err as Error).message;
      this.#logger.error({ avatar: source.id, err: error }, 'avatar failed to compile');
      const shown = this.#options.publicText?.(error) ?? error;
      this.#states.set(source.id, { id: source.id, state: 'failed', error: shown });
    }
    this.#options.onCompiled?.(this.#states.get(source.id)!);
  }

  #publicAnalysis(analysis: AvatarAnalysis): AvatarAnalysis {
    const text = this.#options.publicText;
    return text ? { ...analysis, warnings: analysis.warnings.map(text) } : analysis;
  }

  /**
   * Forgets an avatar that has compiled or failed (media/OnDemandAvatars.ts drops unused ones),
   * so its memory can go once no session holds it; a compiling one stays. True if removed.
   */
  remove(id: string): boolean {
    if (this.#states.get(id)?.state === 'compiling') return false;
    this.#done.delete(id);
    return this.#states.delete(id);
  }

  /** The compile's progress, shown at GET /avatars and in 503 answers while it runs. */
  #setProgress(id: string, { progress, etaSeconds }: CompileProgress) {
    const state = this.#states.get(id);
    if (state?.state === 'compiling') Object.assign(state, { progress, etaSeconds });
  }

  /** Resolves when the avatar `id` has compiled or failed (undefined: this catalog lacks it). */
  async settled(id: string): Promise<AvatarState | undefined> {
    await this.#done.get(id);
    return this.#states.get(id);
  }

  get(id: string): AvatarState | undefined {
    return this.#states.get(id);
  }

  list(): AvatarState[] {
    return [...this.#states.values()];
  }
}
