import type { RTCPeerConnection } from 'werift';
import { unpoolBelow } from './unpoolKeys.js';

/**
 * What a connected werift (0.25.2) ICE agent keeps but no longer uses, released on our peers
 * once the connection is up (releaseAfterConnect.ts; docs/werift.md, "Memory: what a connected
 * peer releases"):
 *
 * - **Unused sockets.** werift binds one UDP socket (a `StunProtocol`) per local address (the
 *   interface address and 127.0.0.1 here) and keeps every one, with its candidate and the
 *   candidate pairs through it, for the peer's life. Once a pair is nominated, media, consent
 *   freshness (RFC 7675, on the nominated pair) and our direct send (iceSend.ts) use only that
 *   pair's socket; the server supports no ICE restart (a new ufrag is refused before it reaches
 *   werift). So the other sockets are closed (werift's own `StunProtocol.close`, as its
 *   `Connection.close` does) and their candidates and pairs forgotten. The pairs through the kept
 *   socket stay, so a viewer's check from another of its addresses still finds its pair.
 * - **The consent request's pooled Buffer.** werift's consent loop keeps its last request in a
 *   suspended async function until the next one, 4–6 s later; the request's MESSAGE-INTEGRITY is
 *   `Buffer.from(hex)`, a slice of Node's 8 KB Buffer pool, so each peer pinned a whole slab
 *   (the heap snapshots: 6–7 KB per session). The kept socket's `request` gives the message's
 *   small Buffers allocations of their own once it has built them (before its first await).
 *
 * - **The pairs' record of every incoming check.** Each pair keeps the transaction id of every
 *   STUN request it receives (`requestTransactionIds`, a Set that is never pruned) only to count
 *   retransmissions for its stats; a browser's consent checks (one every 2.5–5 s) grow it for the
 *   session's life (≈ 60 bytes each, ≈ 80 KB an hour). The kept pairs get a Set of the last 16.
 *
 * Returns how many sockets it closed, or undefined if `pc` has no nominated pair to keep.
 */
export function releaseIce(pc: RTCPeerConnection): number | undefined {
  let closed: number | undefined;
  for (const transport of pc.iceTransports) {
    const n = releaseIceConnection((transport as unknown as { connection: object }).connection);
    if (n !== undefined) closed = (closed ?? 0) + n;
  }
  return closed;
}

/** The same for one werift ICE `Connection`: returns the sockets closed (undefined: none nominated). */
export function releaseIceConnection(iceConnection: object): number | undefined {
  const connection = iceConnection as ConnectionInternals;
  const kept = connection.nominated?.protocol;
  if (!kept || !Array.isArray(connection.protocols) || !connection.protocols.includes(kept)) {
    return undefined;
  }
  const unused = connection.protocols.filter((p) => p !== kept);
  // werift's close: cancels its transactions, closes the socket, completes its Events.
  for (const protocol of unused) protocol.close?.().catch(() => {});
  connection.protocols = [kept];
  connection.localCandidates = connection.localCandidates.filter((c) => c === kept.localCandidate);
  connection.checkList = connection.checkList.filter((pair) => pair.protocol === kept);
  for (const pair of connection.checkList) {
    if (
      pair.requestTransactionIds instanceof Set &&
      !(pair.requestTransactionIds instanceof RecentIds)
    ) {
      pair.requestTransactionIds = new RecentIds(pair.requestTransactionIds);
    }
  }
  unpoolConsentRequests(kept);
  return unused.length;
}

/** werift's ICE `Connection` (0.25.2), the fields this reads and writes. */
type ConnectionInternals = {
  nominated?: { protocol: ProtocolInternals };
  protocols: ProtocolInternals[];
  localCandidates: unknown[];
  checkList: Array<{ protocol: ProtocolInternals; requestTransactionIds?: Set<string> }>;
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
 * The Set werift's `CandidatePair.noteIncomingRequest` uses (`has`, `add`), holding only the last
 * 16 ids: a retransmitted request arrives within seconds of its original.
 */
class RecentIds extends Set<string> {
  static readonly KEEP = 16;
  constructor(ids: Iterable<string>) {
    super();
    for (const id of ids) this.add(id);
  }
  override add(id: string) {
    super.add(id);
    if (this.size > RecentIds.KEEP) this.delete(this.values().next().value!);
    return this;
  }
}
