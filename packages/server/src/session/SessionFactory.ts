import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { ChannelAudio } from '../audio/channelAudio.js';
import {
  type SpeechEvent,
  Voice,
  type VoiceClockValue,
  type VoiceSettings,
} from '../audio/Voice.js';
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
  /** The session's voice, when its peer negotiated an Opus track. */
  readonly voice: Voice | undefined;
  #peer: ViewerPeer;
  /** SHA-256 of the tokens that control this session; empty: the URL alone does. */
  #owners: Buffer[];
  #candidates: number;

  constructor(
    session: Session,
    peer: ViewerPeer,
    owner: SessionOwner,
    options: { answerKey?: string; candidates: number; voice?: Voice | undefined },
  ) {
    this.session = session;
    this.voice = options.voice;
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
   * The voice, or a 409 saying how to get one. A `/streams` session offered with audio has its
   * voice before the client answers: audio queued then plays once the viewer is connected.
   */
  requireVoice(): Voice {
    if (this.voice && (this.#peer.hasAudio || this.#peer.awaitingAnswer)) return this.voice;
    throw new AvatarServerError(
      'session_state',
      'this session has no audio track: offer a recvonly Opus audio section (WHEP), or create the /streams session with "audio": true',
    );
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
 * Interrupts a session's voice: the voice stops (no packet after the current one), its queue is
 * dropped, and the face returns to idle on the next frame.
 */
export function interrupt(owned: OwnedSession): { id: string | null; dropped: number } {
  const result = owned.requireVoice().interrupt();
  owned.session.interruptVoice().catch(() => {});
  return result;
}

/**
 * The one place that creates a session: it asks the peer factory for the viewer's connection,
 * has the registry open a Session on it (the registry's clock and settings), wires the two
 * (PLI → keyframe, control channel → speaking, connection lost, handshake and receiver-silence
 * timeouts → session ended and peer closed), and keeps the handle until the session ends.
 */
export class SessionFactory {
  #live = new Map<string, OwnedSession>();
  /** Peers of ended sessions still closing (their sockets open until each settles). */
  #closing = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      peers: PeerFactory;
      timeouts: SessionTimeouts;
      logger: Logger;
      /** How each session's voice plays and when the face follows it (config `audio`). */
      voice: VoiceSettings & { stallMs: number; maxUtteranceSeconds: number };
      /** Every speech event of every session (metrics). */
      onSpeech?: (event: SpeechEvent, playedSeconds: number) => void;
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
    options: { audio?: boolean } = {},
  ): Promise<{ owned: OwnedSession; offer: string }> {
    const { peer, offer } = await this.deps.peers.offer(options);
    const owned = this.#start(avatar, peer, owner, {
      candidates: 0,
      answerKey: newSecret(),
      audio: options.audio,
    });
    return { owned, offer };
  }

  /** A voice on the session's media clock; its events go to the page and to the metrics. */
  #voiceFor(session: Session, peer: ViewerPeer): Voice {
    const { registry } = this.deps;
    // The media clock is set once (the first frame) and the session keeps its slice: made once,
    // not an object per call (the voice reads it every 20 ms, the face every frame).
    let clock: VoiceClockValue | undefined;
    const voice = new Voice(
      peer,
      () => {
        if (!clock && session.mediaClock) {
          clock = { ...session.mediaClock, sendOffsetMs: registry.sendOffsetMs(session) };
        }
        return clock;
      },
      this.deps.voice,
    );
    session.attachVoice(voice);
    voice.on('speech', (event, playedSeconds) => {
      peer.sendControl(JSON.stringify(event));
      this.deps.onSpeech?.(event, playedSeconds);
    });
    return voice;
  }

  /**
   * Resolves once the peers of every ended session have closed (their UDP sockets with them): a
   * worker thread must not be terminated while a socket can still deliver a packet (Node crashed
   * in `UDPWrap::OnRecv` → `AddressToJS` on a terminating worker).
   */
  async peersClosed(): Promise<void> {
    while (this.#closing.size > 0) await Promise.allSettled([...this.#closing]);
  }

  get(id: string): OwnedSession | undefined {
    return this.#live.get(id);
  }

  #start(
    avatar: PacketizedAvatar,
    peer: ViewerPeer,
    owner: SessionOwner,
    options: { candidates: number; answerKey?: string; audio?: boolean | undefined },
  ): OwnedSession {
    const { registry, timeouts } = this.deps;
    const session = registry.open(avatar, peer);
    // With an Opus track (answered now, or offered and hoped for), the session gets a voice.
    const voice = peer.hasAudio || options.audio ? this.#voiceFor(session, peer) : undefined;
    const owned = new OwnedSession(session, peer, owner, { ...options, voice });
    const log = this.deps.logger.child({ session: session.id, avatar: avatar.id });
    const channelAudio = voice
      ? new ChannelAudio(voice, {
          stallMs: this.deps.voice.stallMs,
          maxUtteranceSeconds: this.deps.voice.maxUtteranceSeconds,
        })
      : undefined;
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
        void handleControlMessage(session, text, channelAudio, () => interrupt(owned)).then(
          (answer) => reply(JSON.stringify(answer)),
        );
      },
      () => helloMessage(session),
      (data, reply) => {
        const problem = channelAudio
          ? channelAudio.data(data)
          : 'this session has no audio track: offer a recvonly Opus audio section';
        if (problem) reply(JSON.stringify({ type: 'error', detail: problem }));
      },
    );
    // A viewer that never completes ICE/DTLS (closed tab, blocked UDP) must not hold a session.
    const handshake = setTimeout(() => {
      if (!peer.ready) session.close('handshake timeout');
    }, timeouts.handshakeTimeoutMs);
    handshake.unref();
    session.once('closed', (reason) => {
      clearTimeout(handshake);
      channelAudio?.close();
      voice?.close();
      silence?.stop();
      this.#live.delete(session.id);
      log.info({ reason, ...session.stats }, 'session ended');
      const closed = peer.close().finally(() => this.#closing.delete(closed));
      this.#closing.add(closed);
    });
    this.#live.set(session.id, owned);
    log.info('session created');
    return owned;
  }
}
