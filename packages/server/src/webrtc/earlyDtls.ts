import type { RTCPeerConnection } from 'werift';

/** Most DTLS records held for a handshake that has not started (a ClientHello is one or two). */
const MAX_HELD = 8;

/**
 * Keeps the DTLS records a browser sends before werift's DTLS server exists, and hands them to
 * it when it starts.
 *
 * We are the DTLS server (the answer says `a=setup:passive`): the browser sends its ClientHello
 * the moment its own ICE is connected. werift creates its DTLS server only once its side of ICE
 * has finished (`RTCDtlsTransport.start` after `RTCIceTransport.start`), and drops any DTLS
 * record that arrives before (werift 0.25.2, webrtc/src/transport/dtls.js `IceTransport`). The
 * browser then resends the ClientHello only after its retransmission timer, which measured as
 * tens of milliseconds of every connection's time to first frame (docs/benchmarks.md, "Time to
 * first frame"). Replayed records go through werift's own ICE data event, as if they had just
 * arrived.
 */
export function keepEarlyDtls(pc: RTCPeerConnection) {
  for (const transport of pc.dtlsTransports) {
    const connection = transport.iceTransport.connection;
    let held: Buffer[] | null = [];
    const early = connection.onData.subscribe((data) => {
      // RFC 7983: a first byte of 20–63 is DTLS. Only before werift's DTLS end exists.
      const dtls = data[0]! >= 20 && data[0]! <= 63;
      if (held && dtls && !transport.dtls && held.length < MAX_HELD) held.push(data);
    });
    const started = transport.onStateChange.subscribe((state) => {
      if (state === 'new' || !held) return;
      const replay = held;
      held = null;
      early.unSubscribe();
      started.unSubscribe();
      // `connecting` is announced just before werift makes its DTLS end (same call, synchronous).
      if (state === 'connecting' && replay.length) {
        queueMicrotask(() => {
          for (const data of replay) connection.onData.execute(data);
        });
      }
    });
  }
}
