import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { handleControlMessage, helloMessage } from '../session/controlMessages.js';
import { Session } from '../session/Session.js';
import type { SessionRegistry } from '../session/SessionRegistry.js';
import { AvatarPeer, type IceOptions } from './AvatarPeer.js';
import { type SilenceWatch, watchSilence } from './silenceWatch.js';
import type { SdpFragment } from './trickle.js';

type SessionOptions = {
  avatar: PacketizedAvatar;
  registry: SessionRegistry;
  ice: IceOptions;
  logger: Logger;
  /** How long the viewer has to complete ICE and DTLS after the answer (or our offer). */
  handshakeTimeoutMs: number;
  /** How long a connected viewer may send no RTCP before it counts as gone (default 6 s). */
  receiverSilenceTimeoutMs?: number | undefined;
};

/**
 * Answers a viewer's offer and starts its session: the peer sends what the session's cursor
 * says, PLI/FIR move the cursor to a keyframe, data-channel messages drive the speaking state,
 * and the session ends when the connection fails or closes.
 */
export async function openSession(
  opts: SessionOptions & { offer: string },
): Promise<{ session: Session; answer: string }> {
  const peer = await AvatarPeer.answer(opts.offer, opts.ice);
  return { session: startSession(peer, opts), answer: peer.answer };
}

/**
 * The original API's direction: we make the offer, the client answers later (`answerSession`).
 * The session is registered at once, so the handshake timeout also covers a missing answer.
 */
export async function offerSession(
  opts: SessionOptions,
): Promise<{ session: Session; offer: string }> {
  const peer = await AvatarPeer.offer(opts.ice);
  return { session: startSession(peer, opts), offer: peer.offer };
}

/** Applies the client's answer to a session made by `offerSession`. */
export async function answerSession(session: Session, sdp: string) {
  const peer = peers.get(session);
  if (!peer) throw AvatarServerError.sessionNotFound(session.id);
  if (!peer.awaitingAnswer) {
    throw new AvatarServerError(
      'session_state',
      'this session already has an answer (or was opened with a WHEP offer)',
    );
  }
  await peer.acceptAnswer(sdp);
}

function startSession(peer: AvatarPeer, opts: SessionOptions): Session {
  const session = new Session(opts.avatar, opts.registry.clock, peer, {
    switchWaitFrames: opts.registry.switchWaitFrames,
  });
  const log = opts.logger.child({ session: session.id, avatar: opts.avatar.id });
  peer.onKeyframeRequest(() => session.requestKeyframe());
  // Once connected, a viewer that stops sending RTCP has vanished without DELETE: end it.
  let silence: SilenceWatch | undefined;
  const silenceMs = opts.receiverSilenceTimeoutMs ?? 6000;
  peer.onReceiverRtcp(() => silence?.heard());
  peer.onStateChange((state) => {
    log.debug({ state }, 'peer state');
    if (state === 'connected' && !silence && !session.closed) {
      silence = watchSilence(silenceMs, () =>
        session.close(`viewer gone: no RTCP for ${silenceMs / 1000} s`),
      );
    }
    if (state === 'connected') log.info('viewer connected');
    if (state === 'failed' || state === 'closed') session.close(`connection ${state}`);
  });
  peer.onControl(
    (text, reply) => {
      handleControlMessage(session, text)
        .then((answer) => reply(JSON.stringify(answer)))
        .catch((err: Error) => reply(JSON.stringify({ type: 'error', detail: err.message })));
    },
    () => helloMessage(session),
  );
  session.once('closed', (reason) => {
    log.info({ reason, ...session.stats }, 'session ended');
    void peer.close();
  });
  // A viewer that never completes ICE/DTLS (closed tab, blocked UDP) must not hold a session.
  const handshake = setTimeout(() => {
    if (!peer.ready) session.close('handshake timeout');
  }, opts.handshakeTimeoutMs);
  handshake.unref();
  session.once('closed', () => {
    clearTimeout(handshake);
    silence?.stop();
  });
  opts.registry.add(session);
  log.info('session created');
  peers.set(session, peer);
  return session;
}

const peers = new WeakMap<Session, AvatarPeer>();

/**
 * Applies a WHEP PATCH to a session's peer: trickled candidates are added; new ICE credentials
 * mean an ICE restart, which this server does not support (422, as draft-ietf-wish-whep says for
 * a server that implements only one of trickle and restart).
 */
export async function patchSession(session: Session, fragment: SdpFragment) {
  const peer = peers.get(session);
  if (!peer) throw AvatarServerError.sessionNotFound(session.id);
  if (fragment.ufrag !== undefined && fragment.ufrag !== peer.remoteIceUfrag) {
    throw new AvatarServerError(
      'unusable_offer',
      'ICE restart is not supported: start a new session (POST the endpoint again)',
    );
  }
  await peer.addRemoteCandidates(fragment.candidates);
}
