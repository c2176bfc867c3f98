/** No media received for this long while connected means the connection is gone. */
export const STALL_MS = 4000;

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
