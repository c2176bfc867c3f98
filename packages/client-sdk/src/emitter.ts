/** A minimal typed event emitter: no `events` polyfill, and a throwing listener breaks nothing. */
export function createEmitter<E extends { [K in keyof E]: (...args: never[]) => void }>() {
  const listeners = new Map<keyof E, Set<E[keyof E]>>();
  return {
    /** Adds a listener; returns a function that removes it. */
    on<K extends keyof E>(event: K, fn: E[K]): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set.add(fn));
      return () => void set.delete(fn);
    },
    /** A listener for the next emit only; returns a function that removes it before then. */
    once<K extends keyof E>(event: K, fn: E[K]): () => void {
      const off = this.on(event, ((...args: Parameters<E[K]>) => {
        off();
        (fn as (...a: Parameters<E[K]>) => void)(...args);
      }) as E[K]);
      return off;
    },
    off<K extends keyof E>(event: K, fn: E[K]) {
      listeners.get(event)?.delete(fn);
    },
    /** Drops every listener (the avatar closed: nothing more will be emitted). */
    clear() {
      listeners.clear();
    },
    emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>) {
      for (const fn of listeners.get(event) ?? []) {
        try {
          (fn as (...a: Parameters<E[K]>) => void)(...args);
        } catch (err) {
          // A page's listener bug must not stop the SDK: report it asynchronously instead.
          setTimeout(() => {
            throw err;
          });
        }
      }
    },
  };
}
