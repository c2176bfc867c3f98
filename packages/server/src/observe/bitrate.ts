/**
 * Outgoing bitrate over the last few seconds, from a byte total sampled once a second (the send
 * loop only counts bytes; it never times anything for this).
 */
export class BitrateMeter {
  #samples: Array<{ at: number; bytes: number }> = [];
  #timer: NodeJS.Timeout;

  constructor(
    readBytes: () => number,
    readonly windowMs = 5000,
  ) {
    const sample = () => {
      const now = performance.now();
      this.#samples.push({ at: now, bytes: readBytes() });
      while (this.#samples.length > 2 && now - this.#samples[0]!.at > windowMs) {
        this.#samples.shift();
      }
    };
    sample();
    this.#timer = setInterval(sample, 1000);
    this.#timer.unref();
  }

  /** kbit/s over the window; 0 until two samples exist. */
  get kbps(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at === first.at) return 0;
    return Math.round(((last.bytes - first.bytes) * 8) / (last.at - first.at));
  }

  stop() {
    clearInterval(this.#timer);
  }
}
