import { isIP } from 'node:net';

/**
 * One synchronous UDP send per packet on the ICE connection's nominated pair.
 *
 * werift's `connection.send` is three nested async functions (Connection.send →
 * StunProtocol.sendData → UdpTransport.send), so every packet costs three promises before it
 * reaches `socket.send`: at ≈ 20,000 packets/s per core that is young-generation garbage and GC
 * pauses that make frames late (docs/benchmarks.md, "Capacity"). This does what those three do,
 * in the same order, without the promises:
 * - RFC 7675: no application data once consent has expired (`canSendApplicationData()`, which
 *   werift's consent checks keep current; they run on their own timers, untouched by this);
 * - the nominated pair is read on every send, so a pair change mid-stream (a new nomination, an
 *   ICE restart) is followed at once;
 * - a closed transport sends nothing; the pair's packet and byte counters stay current for stats.
 * Anything else (a TCP pair, a remote address that is not a literal IP and would need a DNS
 * lookup) goes through werift's own send. Read against werift 0.25.2 (ice/src/ice.js `send`,
 * stun/protocol.js `sendData`, common/src/transport.js `UdpTransport.send`).
 */

/** The parts of werift's ICE connection this reads (0.25.2). */
export type IceConnectionInternals = {
  nominated?: NominatedPair | undefined;
  canSendApplicationData(): boolean;
  send(data: Buffer): Promise<void>;
};
type NominatedPair = {
  remoteAddr: readonly [string, number];
  packetsSent: number;
  bytesSent: number;
  protocol: {
    transport: {
      type?: string;
      closed?: boolean;
      socket?: { send(data: Buffer, port: number, address: string): void };
    };
  };
};

export type IceSend = (data: Buffer) => void;

export function iceSend(connection: IceConnectionInternals, failed: (err: unknown) => void) {
  /** The last pair checked for a direct send, and whether it qualifies. */
  let checkedPair: NominatedPair | undefined;
  let direct = false;
  return (data: Buffer) => {
    if (!connection.canSendApplicationData()) return;
    const pair = connection.nominated!;
    if (pair !== checkedPair) {
      checkedPair = pair;
      const transport = pair.protocol.transport;
      direct =
        transport.type === 'udp' && transport.socket !== undefined && isIP(pair.remoteAddr[0]) > 0;
    }
    if (!direct) {
      connection.send(data).catch(failed);
      return;
    }
    const transport = pair.protocol.transport;
    if (transport.closed) return;
    try {
      // No callback: as werift does for a literal address (dgram reports nothing we could act on
      // per packet; a send that fails is a lost packet, recovered by NACK or the next keyframe).
      transport.socket!.send(data, pair.remoteAddr[1], pair.remoteAddr[0]);
    } catch (err) {
      failed(err);
      return;
    }
    pair.packetsSent++;
    pair.bytesSent += data.length;
  };
}
