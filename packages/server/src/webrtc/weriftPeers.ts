import { RTCDtlsTransport } from 'werift';
import { mediaLogger } from '../lib/logger.js';
import type { PeerFactory } from '../session/viewerPeer.js';
import { AvatarPeer, type IceOptions } from './AvatarPeer.js';

/**
 * The peer factory the session factory uses: werift peers with the server's ICE settings.
 *
 * Starts making the DTLS certificate now. werift holds one per thread (a static of
 * RTCDtlsTransport, shared by every peer) but makes it on the first peer: 28–85 ms measured in a fresh
 * worker thread (docs/benchmarks.md, "Time to first frame"), all of it in the first viewer's time
 * to first frame.
 */
export function weriftPeers(ice: IceOptions): PeerFactory {
  RTCDtlsTransport.SetupCertificate().catch((err: Error) =>
    mediaLogger('webrtc').warn({ err: err.message }, 'making the DTLS certificate failed'),
  );
  return {
    async answer(offer) {
      const peer = await AvatarPeer.answer(offer, ice);
      return { peer, answer: peer.answer };
    },
    async offer(options) {
      const peer = await AvatarPeer.offer(ice, options);
      return { peer, offer: peer.offer };
    },
  };
}
