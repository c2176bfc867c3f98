/**
 * Gives every string a connected werift (0.25.2) peer keeps one compact copy, shared with equal
 * strings elsewhere in the thread (V8's string table); returns how many properties it rewrote.
 *
 * Why: werift keeps two kinds of strings that cost far more than their characters:
 * - ids built a character or two at a time (candidate and pair ids, track, transceiver and
 *   transport ids, uuids): each a tree of 10–20 concatenation nodes, ≈ 0.5 KB per 36-character id;
 * - slices of the SDP it parsed (a candidate's `foundation`, the remote ICE password, the codec's
 *   `parameters`, header-extension uris, the fingerprint): each keeps the whole offer text alive
 *   (1.5 KB from werift's client, ≈ 5 KB from Chromium), after the parsed SDP itself was dropped.
 * Interning (a string used as a property key) makes one flat string of the same value, and equal
 * strings (`udp`, `host`, codec names) the same one. A string's value is all werift reads.
 *
 * Walks own enumerable properties and array elements of the objects below `root`, as
 * releaseAfterConnect.ts's `slimEvents` does (not closures, sockets, timers or buffers).
 */
export function internStrings(root: object): number {
  const seen = new Set<object>();
  const stack: object[] = [root];
  let interned = 0;
  while (stack.length > 0 && seen.size < 50_000) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    if (!walkable(value)) continue;
    if (value instanceof Map || value instanceof Set) {
      for (const v of value.values()) if (typeof v === 'object' && v !== null) stack.push(v);
      continue;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (typeof child === 'string') {
        if (child.length === 0 || child.length > 4096) continue;
        try {
          record[key] = intern(child);
          interned++;
        } catch {
          // A read-only property: left as it is.
        }
      } else if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return interned;
}

/** The string table's copy of `s`: flat, and shared by every equal interned string. */
function intern(s: string): string {
  for (const key in { [s]: 0 }) return key;
  return s;
}

/** Objects whose properties may hold werift state; not Node's own machinery or binary data. */
export function walkable(value: object): boolean {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Promise) {
    return false;
  }
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  // Sockets, timers and abort signals hold Node internals, not werift state.
  return name !== 'Socket' && name !== 'Timeout' && name !== 'AbortController';
}
