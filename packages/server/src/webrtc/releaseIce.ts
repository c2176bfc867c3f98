import type { RTCPeerConnection } from 'werift';
import { unpoolBelow } from './unpoolKeys.js';

/**
 * What a connected werift (0.25.2) ICE agent keeps and need not, released on our peers once the
 * connection is up (releaseAfterConnect.ts; docs/werift.md, "Memory: what a connected peer
 * releases"):
 *
 * - **The consent request's pooled Buffer.** werift's consent loop keeps its last request in a
 *   suspended async function until the next one, 4–6 s later; the request's MESSAGE-INTEGRITY is
 *   `Buffer.from(hex)`, a slice of Node's 8 KB Buffer pool, so each peer pinned a whole slab
 *   (the heap snapshots: 6–7 KB per session). The nominated pair's socket's `request` gives the
 *   message's small Buffers allocations of their own once it has built them (before its first
 *   await).
 * - **The pairs' record of every incoming check.** Each pair keeps the transaction id of every
 *   STUN request it receives (`requestTransactionIds`, a Set that is never pruned) only to count
 *   retransmissions for its stats; a browser's consent checks (one every 2.5–5 s) grow it for the
 *   session's life (≈ 60 bytes each, ≈ 80 KB an hour). Each pair keeps the last 4.
 *
 * Kept on purpose: the sockets of the other local addresses (werift binds one per address, here
 * the interface address and 127.0.0.1) with their candidates and pairs. werift sends on the pair
 * it nominated first and never changes it, but a browser (the controlling agent) may later select
 * another pair for what it sends, through another of our sockets; werift receives on every socket,
 * so that works, and a closed socket would drop the browser's SCTP and RTCP until it noticed
 * (seconds). Closing them saved ≈ 3 KB per session (docs/benchmarks.md, "Memory per session").
 *
 * Returns how many pairs now keep a bounded record, or undefined if `pc` has no nominated pair.
 */
export function releaseIce(pc: RTCPeerConnection): number | undefined {
  let pairs: number | undefined;
  for (const transport of pc.iceTransports) {
    const n = releaseIceConnection((transport as unknown as { connection: object }).connection);
    if (n !== undefined) pairs = (pairs ?? 0) + n;
  }
  return pairs;
}

/** The same for one werift ICE `Connection` (undefined: none nominated). */
export function releaseIceConnection(iceConnection: object): number | undefined {
  const connection = iceConnection as ConnectionInternals;
  const nominated = connection.nominated?.protocol;
  if (!nominated || !Array.isArray(connection.checkList)) return undefined;
  let bounded = 0;
  for (const pair of connection.checkList) {
    const ids = pair.requestTransactionIds;
    if (ids instanceof Set) {
      pair.requestTransactionIds = new RecentIds(ids);
      bounded++;
    }
  }
  unpoolConsentRequests(nominated);
  return bounded;
}

/** werift's ICE `Connection` (0.25.2), the fields this reads and writes. */
type ConnectionInternals = {
  nominated?: { protocol: ProtocolInternals };
  checkList: Array<{
    protocol: ProtocolInternals;
    requestTransactionIds?: Set<string> | RecentIds;
  }>;
};
type ProtocolInternals = {
  request: (message: object, ...rest: unknown[]) => Promise<unknown>;
};

const unpooling = new WeakSet<object>();

/** Wraps `protocol.request` (an instance property) so each request's small Buffers are unpooled. */
function unpoolConsentRequests(protocol: ProtocolInternals) {
  if (unpooling.has(protocol)) return;
  unpooling.add(protocol);
  const request = protocol.request;
  protocol.request = function (this: unknown, message: object, ...rest: unknown[]) {
    // werift's `request` adds MESSAGE-INTEGRITY and FINGERPRINT synchronously, then awaits.
    const result = request.call(this, message, ...rest);
    unpoolBelow(message, 50);
    return result;
  };
}

/**
 * What werift's `CandidatePair.noteIncomingRequest` uses of its Set (`has`, `add`), holding only
 * the last 4 ids in an array: the only use is its `retransmissionsReceived` stat, and a
 * retransmitted request arrives before many new ones (a Set of 16 was ≈ 1 KB per pair).
 */
class RecentIds {
  static readonly KEEP = 4;
  #ids: string[] = [];
  constructor(ids: Iterable<string>) {
    for (const id of ids) this.add(id);
  }
  get size() {
    return this.#ids.length;
  }
  has(id: string) {
    return this.#ids.includes(id);
  }
  add(id: string) {
    if (this.#ids.length === RecentIds.KEEP) this.#ids.shift();
    this.#ids.push(id);
    return this;
  }
}
