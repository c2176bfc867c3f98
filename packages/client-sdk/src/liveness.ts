/** No media received for this long while connected means the connection is gone. */
export const STALL_MS = 4000;
/** A `disconnected` ICE state may recover by itself; after this long it counts as lost. */
export const DISCONNECTED_MS = 2000;

/**
 * What the browser itself says about a connection: lost when ICE fails, stays `disconnected` for
 * `DISCONNECTED_MS`, or the control channel closes (the server ended the session). `onLost` may be
 * called more than once; the SDK acts on the first.
 */
export function watchPeer(
  pc: Pick<RTCPeerConnection, 'connectionState' | 'addEventListener'>,
  dc: Pick<RTCDataChannel, 'addEventListener'>,
  onLost: () => void,
) {
  pc.addEventListener('connectionstatechange', () => {
    const s = pc.connectionState;
    if (s === 'failed') onLost();
    if (s === 'disconnected')
      setTimeout(() => pc.connectionState === 'disconnected' && onLost(), DISCONNECTED_MS);
  });
  dc.addEventListener('close', onLost);
}

/**
 * Notices a dead connection from the receiver's byte counters: frames shown stop for a paused,
 * hidden or off-screen video (and cannot be counted without requestVideoFrameCallback), received
 * bytes do not. Every second, while `watching()` says media should flow, it reads the bytes
 * received; when they have not grown for `stallMs` it calls `onStall` (which stops the watching).
 */
export function watchLiveness(
  bytesReceived: () => Promise<number>,
  watching: () => boolean,
  onStall: () => void,
  stallMs = STALL_MS,
) {
  let bytes = 0;
  let progressAt = Date.now();
  const timer = setInterval(async () => {
    if (!watching()) return;
    const count = await bytesReceived();
    if (count > bytes) {
      bytes = count;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs && watching()) onStall();
  }, 1000);
  return {
    /** A new connection: its counters start at 0, and it has `stallMs` to deliver. */
    restart() {
      bytes = 0;
      progressAt = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}

/** Bytes received on all inbound RTP streams of a peer connection (0 if unreadable). */
export async function inboundBytes(pc: RTCPeerConnection): Promise<number> {
  let total = 0;
  (await pc.getStats().catch(() => undefined))?.forEach((s) => {
    if (s.type === 'inbound-rtp') total += s.bytesReceived ?? 0;
  });
  return total;
}
