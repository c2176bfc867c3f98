import type { Logger } from 'pino';
import { type PacketizedAvatar, packetizeAvatar } from '../rtp/packetizedAvatar.js';
import { type AvatarSource, type CompileOptions, compileAvatar } from './compileAvatar.js';
import { compiledBytes } from './compiledAvatar.js';

export type AvatarState =
  | { id: string; state: 'compiling' }
  | { id: string; state: 'failed'; error: string }
  | {
      id: string;
      state: 'ready';
      avatar: PacketizedAvatar;
      frames: { idle: number; speaking: number };
      bytes: number;
      compileMs: number;
      fromCache: boolean;
    };

/**
 * The avatars this server knows and where each one is in its life: compiling, ready or failed.
 * Avatars compile one after another in the background (each encode already uses every core), and
 * one avatar failing never stops the others.
 */
export class AvatarCatalog {
  #states = new Map<string, AvatarState>();
  #options: CompileOptions & { maxRtpPayload: number };
  #logger: Logger;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: CompileOptions & { maxRtpPayload: number }) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /** Queues the avatars for compilation; resolves when all of these have compiled or failed. */
  compile(sources: AvatarSource[]): Promise<void> {
    for (const source of sources)
      this.#states.set(source.id, { id: source.id, state: 'compiling' });
    const run = this.#queue.then(async () => {
      for (const source of sources) await this.#compileOne(source);
    });
    this.#queue = run;
    return run;
  }

  async #compileOne(source: AvatarSource) {
    try {
      const outcome = await compileAvatar(source, this.#options);
      const { avatar } = outcome;
      this.#states.set(source.id, {
        id: source.id,
        state: 'ready',
        avatar: packetizeAvatar(avatar, this.#options.maxRtpPayload),
        frames: { idle: avatar.loops.idle.frameCount, speaking: avatar.loops.speaking.frameCount },
        bytes: compiledBytes(avatar),
        compileMs: Math.round(outcome.compileMs),
        fromCache: outcome.fromCache,
      });
    } catch (err) {
      const error = (err as Error).message;
      this.#logger.error({ avatar: source.id, err: error }, 'avatar failed to compile');
      this.#states.set(source.id, { id: source.id, state: 'failed', error });
    }
  }

  get(id: string): AvatarState | undefined {
    return this.#states.get(id);
  }

  list(): AvatarState[] {
    return [...this.#states.values()];
  }
}
