import type { PeerFactory } from '../session/viewerPeer.js';
import { AvatarPeer, type IceOptions } from './AvatarPeer.js';

/** The peer factory the session factory uses: werift peers with the server's ICE settings. */
export function weriftPeers(ice: IceOptions): PeerFactory {
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
