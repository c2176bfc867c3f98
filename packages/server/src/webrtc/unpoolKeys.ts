import type { RTCPeerConnection } from 'werift';

/**
 * Node slices small Buffers (`Buffer.allocUnsafe`, `Buffer.concat`, `subarray` of those) out of
 * shared 8 KB slabs, and a slab lives as long as any slice of it. werift derives a peer's SRTP,
 * SRTCP and DTLS record keys (16-byte keys, 12- or 14-byte salts, the 48-byte master secret) as
 * such slices during the handshake, so the few dozen bytes a connected peer keeps pinned two or
 * three whole slabs per peer (the heap snapshots in docs/benchmarks.md, "Memory per session").
 *
 * `unpoolKeys` gives each such key its own small allocation: in the SRTP and SRTCP sessions and
 * the DTLS cipher context of every transport of `pc`, an own property that holds a pooled Buffer
 * of at most 64 bytes is replaced by a copy. Keys are only read after the handshake (each packet
 * creates its cipher from them), so a copy is the same key. Returns how many it copied.
 */
export function unpoolKeys(pc: RTCPeerConnection): number {
  let copied = 0;
  for (const transport of pc.dtlsTransports) {
    const t = transport as unknown as {
      srtp?: object;
      srtcp?: object;
      dtls?: { cipher?: object };
    };
    for (const root of [t.srtp, t.srtcp, t.dtls?.cipher]) if (root) copied += unpoolBelow(root);
  }
  return copied;
}

const isPooled = (value: unknown): value is Buffer =>
  Buffer.isBuffer(value) && value.byteLength <= 64 && value.buffer.byteLength === Buffer.poolSize;

/**
 * Gives each pooled Buffer of at most 64 bytes below `root` (own properties and arrays, not
 * closures; at most `limit` objects) its own allocation. Returns how many it copied.
 */
export function unpoolBelow(root: object, limit = 1000): number {
  const seen = new Set<object>();
  const stack: object[] = [root];
  let copied = 0;
  while (stack.length > 0 && seen.size < limit) {
    const value = stack.pop()!;
    if (seen.has(value) || ArrayBuffer.isView(value)) continue;
    seen.add(value);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (isPooled(child)) {
        const copy = Buffer.allocUnsafeSlow(child.byteLength);
        child.copy(copy);
        record[key] = copy;
        copied++;
      } else if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return copied;
}
