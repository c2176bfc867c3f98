import { postOffer } from './whep.js';

/** A connected WHEP session: the peer, its control channel and the session URL. */
export type Peer = { pc: RTCPeerConnection; dc: RTCDataChannel; sessionUrl: string };

/** How long to wait for ICE gathering before sending the candidates found so far. */
const GATHER_MS = 1500;
/**
 * Without STUN/TURN servers every candidate is a host candidate, found at once; Chromium still
 * takes ~120 ms to declare gathering complete. Sending this long after the last candidate saves
 * that wait (a third of the time to first frame on a LAN).
 */
const HOST_SETTLE_MS = 25;

/**
 * Opens one WHEP session, non-trickle: gather candidates, POST one complete offer, apply the answer.
 * Gathering takes milliseconds without STUN/TURN, and one request is simpler than PATCHes.
 */
export async function openPeer(
  url: string,
  token: string | undefined,
  iceServers: RTCIceServer[],
  signal?: AbortSignal,
): Promise<Peer> {
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    // Created before the offer so the SDP has an m=application section; the server answers on it.
    const dc = pc.createDataChannel('control');
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, iceServers.length === 0);
    const answer = await postOffer(url, pc.localDescription!.sdp, token, signal);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    // Applied for ICE restarts and relays (WHEP §4.6); the first check already uses the answer.
    if (answer.iceServers.length > 0) {
      pc.setConfiguration({
        ...pc.getConfiguration(),
        iceServers: [...iceServers, ...answer.iceServers],
      });
    }
    return { pc, dc, sessionUrl: answer.sessionUrl };
  } catch (err) {
    pc.close();
    throw err;
  }
}

function gathered(pc: RTCPeerConnection, hostOnly: boolean): Promise<void> {
  return new Promise((resolve) => {
    let settle: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(settle);
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', found);
      resolve();
    };
    const check = () => pc.iceGatheringState === 'complete' && done();
    const found = () => {
      clearTimeout(settle);
      if (hostOnly) settle = setTimeout(done, HOST_SETTLE_MS);
    };
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', found);
    setTimeout(done, GATHER_MS);
    check();
  });
}
