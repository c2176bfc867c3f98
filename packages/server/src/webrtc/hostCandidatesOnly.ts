import type { RTCPeerConnection } from 'werift';

/**
 * werift 0.25.2 replaces an absent STUN server with stun.l.google.com
 * (`Connection.applyStunTurnServersFromOptions`), so every peer looked that name up and queried
 * it. Found by bench/soak.ts: on a host without working DNS each lookup hung, thousands of them
 * piled up in libuv's thread pool holding closed peers in memory, and answers waited up to 5 s.
 * We announce host candidates only (plus `publicIp`), so the peer's ICE agents get no STUN
 * server. Call after the transports exist and before setLocalDescription (which gathers).
 */
export function hostCandidatesOnly(pc: RTCPeerConnection) {
  for (const transport of pc.iceTransports) {
    (transport.connection as { stunServer?: unknown }).stunServer = undefined;
  }
}
