/** A minimal typed event emitter: no `events` polyfill, and a throwing listener breaks nothing. */
export function createEmitter<E extends { [K in keyof E]: (...args: never[]) => void }>() {
  const listeners = new Map<keyof E, Set<E[keyof E]>>();
  return {
    on<K extends keyof E>(event: K, fn: E[K]) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set.add(fn));
    },
    off<K extends keyof E>(event: K, fn: E[K]) {
      listeners.get(event)?.delete(fn);
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
