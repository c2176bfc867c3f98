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
 * - **Sockets the viewer no longer uses** (`closeQuietSockets`): werift binds one UDP socket per
 *   local address (here the interface address and 127.0.0.1) and keeps them all, with their
 *   candidates and pairs. werift sends on the pair it nominated first and never changes it, but a
 *   browser (the controlling agent) may later select another pair for what it sends, through
 *   another of our sockets, and werift receives on every socket: closing one at once could drop
 *   the browser's SCTP and RTCP. A browser only selects a pair it keeps checking (a writable
 *   one: libwebrtc checks those at least every 2.5 s), so a socket whose pairs received no check
 *   for `QUIET_SOCKET_MS` is one the browser has given up: it is then closed (werift's own
 *   `StunProtocol.close`) and its candidate and pairs forgotten. ≈ 3 KB per session.
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

/** How long a socket's pairs must receive no check before it is closed (see above). */
export const QUIET_SOCKET_MS = 6_000;

/**
 * Closes, once quiet for `quietMs`, each socket of `iceConnection` other than the nominated
 * pair's; checks again every `quietMs` (up to `tries` times) while some still hear checks.
 * `done` gets how many it closed. Stops if the connection closes or its nomination changes.
 */
export function closeQuietSockets(
  iceConnection: object,
  done: (closed: number) => void,
  { quietMs = QUIET_SOCKET_MS, tries = 10 } = {},
) {
  const connection = iceConnection as ConnectionInternals;
  const kept = connection.nominated?.protocol;
  if (!kept || !Array.isArray(connection.protocols)) return;
  /** Checks received so far through `protocol`, by its pairs. */
  const heard = (protocol: ProtocolInternals) =>
    connection.checkList.reduce(
      (sum, pair) => (pair.protocol === protocol ? sum + (pair.requestsReceived ?? 0) : sum),
      0,
    );
  const watched = new Map(connection.protocols.filter((p) => p !== kept).map((p) => [p, heard(p)]));
  if (watched.size === 0) return;
  let closed = 0;
  let left = tries;
  const check = () => {
    if (connection.state === 'closed' || connection.nominated?.protocol !== kept) return;
    for (const [protocol, count] of watched) {
      const now = heard(protocol);
      if (now !== count) {
        watched.set(protocol, now);
        continue;
      }
      watched.delete(protocol);
      // werift's close: cancels its transactions, closes the socket, completes its Events.
      protocol.close?.().catch(() => {});
      connection.protocols = connection.protocols.filter((p) => p !== protocol);
      connection.localCandidates = connection.localCandidates.filter(
        (c) => c !== protocol.localCandidate,
      );
      connection.checkList = connection.checkList.filter((pair) => pair.protocol !== protocol);
      closed++;
    }
    if (watched.size > 0 && --left > 0) setTimeout(check, quietMs).unref();
    else done(closed);
  };
  setTimeout(check, quietMs).unref();
}

/** werift's ICE `Connection` (0.25.2), the fields this reads and writes. */
type ConnectionInternals = {
  state: string;
  nominated?: { protocol: ProtocolInternals };
  protocols: ProtocolInternals[];
  localCandidates: unknown[];
  checkList: Array<{
    protocol: ProtocolInternals;
    requestTransactionIds?: Set<string> | RecentIds;
    requestsReceived?: number;
  }>;
};
type ProtocolInternals = {
  localCandidate?: unknown;
  close?: () => Promise<void>;
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
