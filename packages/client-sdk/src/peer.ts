import { AvatarError } from './errors.js';
import type { AvatarWait } from './types.js';
import { deleteSession, postOffer, type TokenSource, type WhepAnswer } from './whep.js';

/** A connected WHEP session: the peer, its control channel, the session URL and its ICE servers. */
export type Peer = {
  pc: RTCPeerConnection;
  dc: RTCDataChannel;
  sessionUrl: string;
  /** The server's `Link` ICE servers, usable by the next connection's configuration. */
  linked: RTCIceServer[];
  /** The token that created the session: the only one the server accepts on its URLs. */
  token: TokenSource;
  /** Set once the peer is closed and its session deleted (see dropPeer). */
  gone?: Promise<void>;
};

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
 * A session created but not handed over (abort, bad answer) is deleted.
 */
export async function openPeer(
  url: string,
  token: TokenSource,
  iceServers: RTCIceServer[],
  audio: boolean,
  signal?: AbortSignal,
  onWait?: (wait: AvatarWait) => void,
): Promise<Peer> {
  if (typeof RTCPeerConnection === 'undefined')
    throw new AvatarError('unsupported', 'this browser has no WebRTC (RTCPeerConnection)');
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  let answer: WhepAnswer | undefined;
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    // The voice, in the same stream as the video (a server without audio rejects the section).
    if (audio) pc.addTransceiver('audio', { direction: 'recvonly' });
    // Created before the offer so the SDP has an m=application section; the server answers on it.
    const dc = pc.createDataChannel('control');
    await negotiating('cannot create an offer', async () =>
      pc.setLocalDescription(await pc.createOffer()),
    );
    await gathered(pc, iceServers.length === 0);
    answer = await postOffer(url, pc.localDescription!.sdp, token, signal, onWait);
    const sdp = answer.sdp;
    await negotiating("the server's answer was refused", () =>
      pc.setRemoteDescription({ type: 'answer', sdp }),
    );
    if (signal?.aborted) throw new AvatarError('aborted', 'aborted');
    // The offer was gathered before the server's `Link`s were known, so they cannot help this
    // connection's first checks; they serve ICE restarts here and the next connection's offer.
    // A TURN link without credentials is unusable (and would make the configuration throw).
    const linked = answer.iceServers.filter(
      (s) => !/^turns?:/.test(String(s.urls)) || s.credential !== undefined,
    );
    try {
      if (linked.length)
        pc.setConfiguration({ ...pc.getConfiguration(), iceServers: [...iceServers, ...linked] });
    } catch {}
    return { pc, dc, sessionUrl: answer.sessionUrl, linked, token: answer.token };
  } catch (err) {
    pc.close();
    if (answer) void deleteSession(answer.sessionUrl, answer.token);
    throw err;
  }
}

/** Closes a peer and deletes its session, once; resolves when the DELETE is answered. */
export function dropPeer(p: Peer): Promise<void> {
  p.pc.close();
  p.gone ??= deleteSession(p.sessionUrl, p.token);
  return p.gone;
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

/** Runs an SDP step; its failure (a codec or format the browser cannot use) is `negotiation`. */
async function negotiating(what: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    throw new AvatarError('negotiation', `${what}: ${(err as Error)?.message ?? err}`);
  }
}
