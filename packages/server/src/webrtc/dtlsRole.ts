import type { RTCPeerConnection } from 'werift';

/**
 * Answer a WHEP offer as the DTLS server (`a=setup:passive`) when the offer lets us choose
 * (`a=setup:actpass`, as every browser offers).
 *
 * werift may answer `actpass` with `active` (DTLS client; which one it picks varied from run to
 * run), and its DTLS client waits a fixed 100 ms after its ICE connects before sending the
 * ClientHello (werift 0.25.2, webrtc/src/transport/dtls.js `start`: `await setTimeout(100)`). As
 * the server, the handshake starts with the browser's ClientHello as soon as the browser's ICE is
 * connected (earlyDtls.ts keeps it if it comes before werift is ready): the first frame arrives
 * about 100 ms sooner (docs/benchmarks.md, "Time to first frame"). An offer that insists on a
 * role (`active` or `passive`) keeps werift's own choice.
 *
 * Call between setRemoteDescription (which creates the transports) and createAnswer (which writes
 * the role into the answer from the transport's role).
 */
export function answerAsDtlsServer(pc: RTCPeerConnection, offer: string) {
  const setups = [...offer.matchAll(/^a=setup:(\S+)/gm)].map((m) => m[1]);
  if (setups.length === 0 || setups.some((s) => s !== 'actpass')) return;
  for (const transport of pc.dtlsTransports) {
    if (transport.role === 'auto') transport.role = 'server';
  }
}
