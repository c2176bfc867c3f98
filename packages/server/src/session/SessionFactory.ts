import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { AvatarServerError } from '../lib/errors.js';
import type { PacketizedAvatar } from '../rtp/packetizedAvatar.js';
import { handleControlMessage, helloMessage } from './controlMessages.js';
import type { Session } from './Session.js';
import type { SessionRegistry } from './SessionRegistry.js';
import { type SilenceWatch, watchSilence } from './silenceWatch.js';
import type { PeerFactory, RemoteCandidate, ViewerPeer } from './viewerPeer.js';

/**
 * ICE candidates one client may name over a session's life (its offer or answer plus every
 * trickle PATCH). A browser names a handful per interface; each candidate makes the server send
 * connectivity checks to the address it names, so the count is bounded (422 beyond).
 */
export const MAX_REMOTE_CANDIDATES = 50;

export type SessionTimeouts = {
  /** How long the viewer has to complete ICE and DTLS after the answer (or our offer). */
  handshakeTimeoutMs: number;
  /** How long a connected viewer may send no RTCP before it counts as gone. */
  receiverSilenceTimeoutMs: number;
};

/** Who created a session: the Bearer token of the creating request, when the server needs one. */
export type SessionOwner = { token: string } | undefined;

const digest = (secret: string) => createHash('sha256').update(secret).digest();
const newSecret = () => randomBytes(16).toString('base64url');

/** `a=candidate:` lines of an SDP (offer, answer or trickle fragment). */
export function countCandidates(sdp: string): number {
  return sdp.match(/^a=candidate:/gm)?.length ?? 0;
}

function tooManyCandidates(count: number): AvatarServerError {
  return new AvatarServerError(
    'too_many_candidates',
    `${count} ICE candidates for one session: at most ${MAX_REMOTE_CANDIDATES} are accepted (one per interface and transport is plenty)`,
  );
}

/**
 * One live session and everything that belongs to it: the Session (speaking state, frames), its
 * viewer's peer, and who may control it. The session URL (its 128-bit id) is the capability;
 * when the server requires tokens, only the creating token or the session token also passes
 * (`ownedBy`); a server-made offer is answered only with `answerKey`, which only the 201 carried.
 */
export class OwnedSession {
  readonly session: Session;
  /** Secret part of the answer URL of a server-made offer (`/streams`); undefined for WHEP. */
  readonly answerKey: string | undefined;
  /** A token for this session only, returned with the 201 when the server requires tokens. */
  readonly sessionToken: string | undefined;
  /** The WHEP ETag of the 201 (draft-ietf-wish-whep §4.4.1), checked by a strict PATCH. */
  readonly etag = `"${randomBytes(8).toString('hex')}"`;
  #peer: ViewerPeer;
  /** SHA-256 of the tokens that control this session; empty: the URL alone does. */
  #owners: Buffer[];
  #candidates: number;

  constructor(
    session: Session,
    peer: ViewerPeer,
    owner: SessionOwner,
    options: { answerKey?: string; candidates: number },
  ) {
    this.session = session;
    this.#peer = peer;
    this.answerKey = options.answerKey;
    this.sessionToken = owner ? newSecret() : undefined;
    this.#owners = owner ? [digest(owner.token), digest(this.sessionToken!)] : [];
    this.#candidates = options.candidates;
  }

  get id() {
    return this.session.id;
  }

  /**
   * True if `token` may control this session: any request when it was created without a token,
   * else the creating token (its expiry is not checked again, so a short-lived token can still
   * end its session) or the session token. Compared by hash, in constant time.
   */
  ownedBy(token: string | undefined): boolean {
    if (this.#owners.length === 0) return true;
    if (token === undefined) return false;
    const given = digest(token);
    // Every hash is compared, so the time does not tell which one matched.
    return this.#owners.map((owner) => timingSafeEqual(owner, given)).includes(true);
  }

  /** True if `key` is this session's answer key (constant time). */
  answerKeyMatches(key: string): boolean {
    if (this.answerKey === undefined) return false;
    const a = digest(this.answerKey);
    return timingSafeEqual(a, digest(key));
  }

  /** Applies the client's answer to our offer (the original API's direction). */
  async acceptAnswer(sdp: string) {
    if (!this.#peer.awaitingAnswer) {
      throw new AvatarServerError(
        'session_state',
        'this session already has an answer (or was opened with a WHEP offer)',
      );
    }
    this.#countCandidates(countCandidates(sdp));
    await this.#peer.acceptAnswer(sdp);
  }

  /**
   * Applies a WHEP PATCH: trickled candidates are added; new ICE credentials mean an ICE restart,
   * which this server does not support (422, as draft-ietf-wish-whep says for a server that
   * implements only one of trickle and restart).
   */
  async addCandidates(fragment: { ufrag: string | undefined; candidates: RemoteCandidate[] }) {
    if (fragment.ufrag !== undefined && fragment.ufrag !== this.#peer.remoteIceUfrag) {
      throw new AvatarServerError(
        'unusable_offer',
        'ICE restart is not supported: start a new session (POST the endpoint again)',
      );
    }
    this.#countCandidates(fragment.candidates.length);
    await this.#peer.addRemoteCandidates(fragment.candidates);
  }

  #countCandidates(added: number) {
    if (this.#candidates + added > MAX_REMOTE_CANDIDATES) {
      throw tooManyCandidates(this.#candidates + added);
    }
    this.#candidates += added;
  }
}

/**
 * The one place that creates a session: it asks the peer factory for the viewer's connection,
 * has the registry open a Session on it (the registry's clock and settings), wires the two
 * (PLI → keyframe, control channel → speaking, connection lost, handshake and receiver-silence
 * timeouts → session ended and peer closed), and keeps the handle until the session ends.
 */
export class SessionFactory {
  #live = new Map<string, OwnedSession>();

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      peers: PeerFactory;
      timeouts: SessionTimeouts;
      logger: Logger;
    },
  ) {}

  /** Answers a viewer's offer (WHEP) and starts its session. */
  async answer(
    avatar: PacketizedAvatar,
    offer: string,
    owner: SessionOwner,
  ): Promise<{ owned: OwnedSession; answer: string }> {
    const candidates = countCandidates(offer);
    // Before any socket is opened.
    if (candidates > MAX_REMOTE_CANDIDATES) throw tooManyCandidates(candidates);
    const { peer, answer } = await this.deps.peers.answer(offer);
    return { owned: this.#start(avatar, peer, owner, { candidates }), answer };
  }

  /**
   * The original API's direction: we make the offer, the client answers later at the answer URL
   * (with `answerKey`). The session is registered at once, so the handshake timeout also covers a
   * missing answer.
   */
  async offer(
    avatar: PacketizedAvatar,
    owner: SessionOwner,
  ): Promise<{ owned: OwnedSession; offer: string }> {
    const { peer, offer } = await this.deps.peers.offer();
    const owned = this.#start(avatar, peer, owner, { candidates: 0, answerKey: newSecret() });
    return { owned, offer };
  }

  get(id: string): OwnedSession | undefined {
    return this.#live.get(id);
  }

  #start(
    avatar: PacketizedAvatar,
    peer: ViewerPeer,
    owner: SessionOwner,
    options: { candidates: number; answerKey?: string },
  ): OwnedSession {
    const { registry, timeouts } = this.deps;
    const session = registry.open(avatar, peer);
    const owned = new OwnedSession(session, peer, owner, options);
    const log = this.deps.logger.child({ session: session.id, avatar: avatar.id });
    peer.onKeyframeRequest(() => session.requestKeyframe());
    peer.onMediaReady(() => session.startNow());
    // Once connected, a viewer that stops sending RTCP has vanished without DELETE: end it.
    let silence: SilenceWatch | undefined;
    const silenceMs = timeouts.receiverSilenceTimeoutMs;
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
        void handleControlMessage(session, text).then((answer) => reply(JSON.stringify(answer)));
      },
      () => helloMessage(session),
    );
    // A viewer that never completes ICE/DTLS (closed tab, blocked UDP) must not hold a session.
    const handshake = setTimeout(() => {
      if (!peer.ready) session.close('handshake timeout');
    }, timeouts.handshakeTimeoutMs);
    handshake.unref();
    session.once('closed', (reason) => {
      clearTimeout(handshake);
      silence?.stop();
      this.#live.delete(session.id);
      log.info({ reason, ...session.stats }, 'session ended');
      void peer.close();
    });
    this.#live.set(session.id, owned);
    log.info('session created');
    return owned;
  }
}
