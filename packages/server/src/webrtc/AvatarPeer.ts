import type { Logger } from 'pino';
import {
  MediaStream,
  MediaStreamTrack,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  type RTCDataChannel,
  RTCPeerConnection,
  RTCRtpHeaderExtensionParameters,
  type RTCRtpSender,
  type RTCRtpTransceiver,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtpHeader,
  RtpPacket,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  useAbsSendTime,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useSdesMid,
} from 'werift';
import { mediaLogger } from '../lib/logger.js';
import { PROFILE_LEVEL_ID } from '../media/encoderArgs.js';
import type {
  BinaryHandler,
  ControlHandler,
  MediaClock,
  PeerState,
  RemoteCandidate,
  ViewerPeer,
} from '../session/viewerPeer.js';
import { limitCandidatePairs } from './candidatePairs.js';
import { answerAsDtlsServer } from './dtlsRole.js';
import { keepEarlyDtls } from './earlyDtls.js';
import { hostCandidatesOnly } from './hostCandidatesOnly.js';
import { type IceConnectionInternals, iceSend } from './iceSend.js';
import { addRtcpMuxOnly, checkOffer, OfferError, offerReceivesOpus } from './offer.js';
import { announcePublicIp } from './publicIp.js';
import { slimPeer } from './releaseAfterConnect.js';
import { RtpHistory } from './rtpHistory.js';
import { ntpFromEpochMs } from './senderReports.js';
import { type RtpExtension, type SrtpKeys, SrtpWriter } from './srtpWriter.js';

/**
 * The only file that knows werift (0.25.2): one RTCPeerConnection answering a WHEP offer with a
 * sendonly H.264 track, plus the data channel the client opens for control.
 * docs/werift.md says what this works around in werift, and why.
 */

export type IceOptions = {
  portRange?: [number, number] | undefined;
  additionalHostAddresses: string[];
  useIpv6: boolean;
  /** Public address of a 1:1 NAT in front of this host (e.g. a cloud VM), announced as well. */
  publicIp?: string | undefined;
};

/** playout-delay (webrtc.org extension): min = max = 0 asks the receiver to render at once. */
const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const PLAYOUT_DELAY_ZERO = Buffer.from([0, 0, 0]);

/** The H.264 flavour both our encoders produce; the answer then picks this exact offer entry. */
const h264 = () =>
  useH264({
    parameters: `profile-level-id=${PROFILE_LEVEL_ID};packetization-mode=1;level-asymmetry-allowed=1`,
    // No `ccm fir`: werift routes a FIR by its media SSRC, which is 0, so it never reaches the
    // sender. Browsers send PLI, which we answer.
    rtcpFeedback: [useNACK(), usePLI()],
  });

/** Opus as WebRTC negotiates it: 48 kHz, 2 channels in SDP (RFC 7587), 20 ms frames, in-band FEC. */
const opus = () => useOPUS({ parameters: 'minptime=10;useinbandfec=1' });

/**
 * A peer connection with our sendonly H.264 track and, with `audio`, a sendonly Opus track in the
 * same MediaStream (one `a=msid` stream id, so players and browsers sync the two), for either
 * negotiation direction.
 */
function createPeerConnection(ice: IceOptions, audio = false) {
  const codec = h264();
  const audioCodec = opus();
  const pc = new RTCPeerConnection({
    // No STUN: host candidates only, gathered inside setLocalDescription (a few ms).
    iceServers: [],
    // werift falls back to stun.l.google.com (see hostCandidatesOnly.ts); should a transport
    // escape that, never wait for a server-reflexive candidate (offline, answers took 5 s).
    iceStunGatherTimeout: 0,
    iceUseIpv4: true,
    iceUseIpv6: ice.useIpv6,
    iceAdditionalHostAddresses: ice.additionalHostAddresses,
    ...(ice.portRange ? { icePortRange: ice.portRange } : {}),
    // Connectivity checks go to addresses the client names: a bounded number of them.
    iceFilterCandidatePair: limitCandidatePairs(),
    codecs: { video: [codec], audio: audio ? [audioCodec] : [] },
    // No transport-cc: werift's TWCC bookkeeping grows by ~6 MB per peer (docs/werift.md).
    headerExtensions: {
      video: [
        useSdesMid(),
        useAbsSendTime(),
        new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI }),
      ],
      audio: [useSdesMid()],
    },
  });
  // The track must carry its codec before setRemoteDescription, or werift answers with the
  // first H.264 entry of the offer whatever its profile.
  const track = new MediaStreamTrack({ kind: 'video', codec });
  const audioTrack = audio ? new MediaStreamTrack({ kind: 'audio', codec: audioCodec }) : undefined;
  const stream = new MediaStream(audioTrack ? [track, audioTrack] : [track]);
  const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  const audioTransceiver = audioTrack
    ? pc.addTransceiver(audioTrack, { direction: 'sendonly', streams: [stream] })
    : undefined;
  return { pc, transceiver, audioTransceiver };
}

export type { ControlHandler, PeerState } from '../session/viewerPeer.js';

export class AvatarPeer implements ViewerPeer {
  /** Our SDP until the connection is up: only its creator reads it, then it is dropped (memory). */
  #sdp: string | undefined;
  /** The ICE ufrag of the client's SDP (offer or answer): kept, the SDP itself is not. */
  #remoteUfrag: string | undefined;
  /** The connection was up once: werift has nominated its pair, later candidates change nothing. */
  #connectedOnce = false;
  /** Debug lines on what werift decided (states, dropped candidates, failed sends); see forSession. */
  #log: Logger = mediaLogger('webrtc');
  /** Sends that failed (socket gone, werift closed): the first is logged, the rest counted. */
  #sendFailures = 0;
  #pc: RTCPeerConnection;
  #sender: RTCRtpSender;
  /** The Opus sender, when the session has audio (an offer that receives Opus, `/streams` audio). */
  #audioSender: RTCRtpSender | undefined;
  #mediaClock: MediaClock | undefined;
  #reports: NodeJS.Timeout | undefined;
  /** Open control channels: where events (speech start, end…) go. */
  #channels = new Set<RTCDataChannel>();
  #playoutDelayId: number | undefined;
  /** DTLS is up (SRTP keys exist): media can flow, before the data channel's SCTP handshake. */
  #mediaUp = false;
  /** The connection was lost (ICE disconnected or failed, or closed): sends pause. */
  #lost = false;
  #onMediaReady: Array<() => void> = [];
  #closed = false;
  /** Set for a server-made offer: the channel we opened, and the transceiver awaiting an answer. */
  #ownChannel: RTCDataChannel | undefined;
  #transceiver: RTCRtpTransceiver | undefined;
  #answered = false;
  #offeredAudio: RTCRtpTransceiver | undefined;
  /** The direct send path (srtpWriter.ts), made on the first send; null: use werift's sendRtp. */
  #fast: FastPath | null | undefined;
  #audioFast: FastPath | null | undefined;

  /** `sdp` is our answer to a WHEP offer, or our offer for the original API. */
  private constructor(pc: RTCPeerConnection, sender: RTCRtpSender, sdp: string, ice: IceOptions) {
    this.#pc = pc;
    this.#sender = sender;
    this.#sdp = ice.publicIp ? announcePublicIp(sdp, ice.publicIp) : sdp;
  }

  /**
   * Our answer to a WHEP offer (or our offer, see `offer`). Read by whoever made the peer, before
   * the client can connect; released once connected (docs/werift.md, "Memory: what a connected
   * peer releases"), after which reading it is a programming error.
   */
  get answer(): string {
    if (this.#sdp === undefined) throw new Error('the SDP is released once the peer is connected');
    return this.#sdp;
  }

  /** The session this peer sends for: its log lines carry the session id from now on. */
  forSession(sessionId: string) {
    this.#log = mediaLogger('webrtc').child({ session: sessionId });
  }

  /** A send that failed: logged once (the first tells why), counted always. */
  #sendFailed = (err: unknown) => {
    if (this.#sendFailures++ === 0 && !this.#closed) {
      this.#log.debug({ err: (err as Error)?.message ?? String(err) }, 'RTP send failed');
    }
  };

  /** Our offer (server-offer peers); the same text as `answer`, named for its role. */
  get offer() {
    return this.answer;
  }

  /** True when the session negotiated an Opus track: audio can be sent. */
  get hasAudio() {
    return this.#audioSender !== undefined;
  }

  /** Answers `offer` (non-trickle: the answer carries all our candidates). */
  static async answer(offer: string, ice: IceOptions): Promise<AvatarPeer> {
    checkOffer(offer);
    const { pc, transceiver, audioTransceiver } = createPeerConnection(
      ice,
      offerReceivesOpus(offer),
    );
    try {
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      } catch (err) {
        const message = (err as Error).message;
        // werift refuses an offer whose H.264 profiles all differ from ours: that is a 422.
        const kind = /compatible codec/i.test(message) ? 'unusable' : 'unparsable';
        mediaLogger('webrtc').debug({ err: message, kind }, 'werift refused the offer');
        throw new OfferError(kind, `the SDP offer could not be applied: ${message}`);
      }
      hostCandidatesOnly(pc);
      answerAsDtlsServer(pc, offer);
      keepEarlyDtls(pc);
      try {
        await pc.setLocalDescription(await pc.createAnswer());
      } catch (err) {
        // Found by the fuzz test: werift applies an offer whose sections lack `a=mid` (or
        // contradict each other), then throws while answering it. That is the offer's fault: 400.
        mediaLogger('webrtc').debug({ err: (err as Error).message }, 'werift failed to answer');
        throw new OfferError(
          'unparsable',
          `the SDP offer could not be answered (check a=mid and a=group:BUNDLE): ${(err as Error).message}`,
        );
      }
      const local = pc.localDescription;
      if (!local) throw new Error('werift produced no local description');
      if (!transceiver.sender.codec && !/^m=video [1-9]/m.test(local.sdp)) {
        mediaLogger('webrtc').debug('the answer rejected the video section: no H.264 match');
        throw new OfferError(
          'unusable',
          'no H.264 profile in the offer matches 42e01f packetization-mode=1',
        );
      }
      const peer = new AvatarPeer(pc, transceiver.sender, addRtcpMuxOnly(local.sdp), ice);
      peer.#remoteUfrag = iceUfrag(offer);
      if (audioTransceiver?.sender.codec) peer.#audioSender = audioTransceiver.sender;
      peer.#negotiated(transceiver);
      return peer;
    } catch (err) {
      await pc.close().catch(closeFailed);
      throw err;
    }
  }

  /**
   * The original API's server-made offer: a sendonly H.264 (42e01f, packetization-mode 1) video
   * section and a `control` data channel opened by us. The client answers with `acceptAnswer`.
   */
  static async offer(ice: IceOptions, options: { audio?: boolean } = {}): Promise<AvatarPeer> {
    const { pc, transceiver, audioTransceiver } = createPeerConnection(ice, options.audio);
    try {
      const channel = pc.createDataChannel('control');
      const offer = await pc.createOffer();
      hostCandidatesOnly(pc);
      await pc.setLocalDescription(offer);
      const local = pc.localDescription;
      if (!local) throw new Error('werift produced no local description');
      const peer = new AvatarPeer(pc, transceiver.sender, local.sdp, ice);
      peer.#ownChannel = channel;
      peer.#transceiver = transceiver;
      peer.#offeredAudio = audioTransceiver;
      return peer;
    } catch (err) {
      await pc.close().catch(closeFailed);
      throw err;
    }
  }

  /** True for a peer made by `offer` that still waits for the client's answer. */
  get awaitingAnswer() {
    return this.#transceiver !== undefined && !this.#answered;
  }

  /** Applies the client's answer to our offer; an answer that cannot be used is an OfferError. */
  async acceptAnswer(sdp: string) {
    const transceiver = this.#transceiver;
    if (!transceiver || this.#answered) {
      throw new OfferError('unusable', 'this session already has an answer');
    }
    if (!/^v=0\r?\n/.test(sdp) || !/^m=video [1-9]/m.test(sdp)) {
      throw new OfferError(
        'unparsable',
        'the answer is not SDP with a video section: send the SDP of pc.createAnswer()',
      );
    }
    try {
      await this.#pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'werift refused the answer');
      throw new OfferError(
        'unparsable',
        `the SDP answer could not be applied: ${(err as Error).message}`,
      );
    }
    this.#answered = true;
    this.#remoteUfrag = iceUfrag(sdp);
    keepEarlyDtls(this.#pc);
    if (this.#offeredAudio?.sender.codec && /^m=audio [1-9]/m.test(sdp)) {
      this.#audioSender = this.#offeredAudio.sender;
    }
    this.#negotiated(transceiver);
  }

  /** After negotiation: the playout-delay extension id, and readiness from the connection. */
  #negotiated(transceiver: RTCRtpTransceiver) {
    // werift's own sender reports carry a wrong NTP fraction and a stale time, and the first
    // waits up to 1.5 s: ours replace them (#sendReports), so its loop is kept from starting.
    for (const sender of [this.#sender, this.#audioSender]) {
      if (sender) (sender as unknown as { rtcpRunning: boolean }).rtcpRunning = true;
    }
    this.#playoutDelayId = transceiver.headerExtensions.find(
      (e) => e.uri === PLAYOUT_DELAY_URI,
    )?.id;
    this.#pc.connectionStateChange.subscribe((state) => {
      this.#lost = state === 'disconnected' || state === 'failed' || state === 'closed';
      if (state === 'connected') {
        this.#connectedOnce = true;
        this.#sdp = undefined;
      }
    });
    slimPeer(this.#pc, () => this.#log);
    // Why a viewer never connected or dropped: ICE (addresses, consent) or DTLS (keys).
    this.#pc.iceConnectionStateChange.subscribe((state) => {
      this.#log.debug({ state }, 'ICE state');
    });
    // werift's connection state turns `connected` only after the data channel's SCTP handshake
    // too; the video needs only DTLS (SRTP keys are set before DTLS says `connected`), so the
    // first keyframe goes out a round trip earlier (docs/benchmarks.md, "Time to first frame").
    this.#sender.dtlsTransport?.onStateChange.subscribe((state) => {
      this.#log.debug({ state }, 'DTLS state');
      this.#mediaUp = state === 'connected';
      if (this.#mediaUp) for (const listener of this.#onMediaReady.splice(0)) listener();
    });
  }

  get ready() {
    return this.#mediaUp && !this.#lost && !this.#closed;
  }

  /** Called once, when media can first flow (DTLS up): the session sends its first frame now. */
  onMediaReady(listener: () => void) {
    if (this.ready) listener();
    else this.#onMediaReady.push(listener);
  }

  send(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean) {
    if (this.#fast === undefined) {
      this.#fast = createFastPath(this.#sender, this.#playoutDelayId, this.#log, this.#sendFailed);
    }
    if (this.#fast) {
      this.#fast.send(payload, sequenceNumber, timestamp, marker);
      return;
    }
    const header = new RtpHeader({ sequenceNumber, timestamp, marker });
    if (this.#playoutDelayId !== undefined) {
      header.extensions = [{ id: this.#playoutDelayId, payload: PLAYOUT_DELAY_ZERO }];
    }
    // werift adds SSRC, payload type, mid and abs-send-time, keeps the packet for NACKs, then SRTP.
    this.#sender.sendRtp(new RtpPacket(header, payload)).catch(this.#sendFailed);
  }

  /**
   * Sends one Opus packet (20 ms) on the audio track; `marker` starts a talkspurt (the first
   * packet after silence, RFC 3551). Through werift's sendRtp: 50 packets a second while speaking.
   */
  sendAudio(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean) {
    const sender = this.#audioSender;
    if (!sender || !this.ready) return;
    // The video's direct path: werift's sendRtp cost a speaking session's worker more than the
    // Opus encode around it (its promises, an NTP time per packet; docs/benchmarks.md).
    if (this.#audioFast === undefined) {
      this.#audioFast = createFastPath(sender, undefined, this.#log, this.#sendFailed, false);
    }
    if (this.#audioFast) {
      this.#audioFast.send(payload, sequenceNumber, timestamp, marker);
      return;
    }
    const header = new RtpHeader({ sequenceNumber, timestamp, marker });
    sender.sendRtp(new RtpPacket(header, payload)).catch(this.#sendFailed);
  }

  /**
   * The session's media clock: from now on, sender reports for video and audio go out (the first
   * at once, then about every second) and map both tracks' RTP timestamps to one NTP time.
   */
  setMediaClock(clock: MediaClock) {
    if (this.#mediaClock) return;
    this.#mediaClock = clock;
    this.#sendReports();
  }

  /** One compound RTCP packet per track: a sender report from the media clock, and the CNAME. */
  #sendReports = () => {
    this.#reports = undefined;
    const clock = this.#mediaClock;
    if (this.#closed || !clock) return;
    const nowEpochMs = performance.timeOrigin + performance.now();
    const elapsedMs = nowEpochMs - clock.originEpochMs;
    const ntpTimestamp = ntpFromEpochMs(nowEpochMs);
    const tracks = [
      { sender: this.#sender, base: clock.videoBase, rate: 90_000 },
      ...(this.#audioSender
        ? [{ sender: this.#audioSender, base: clock.audioBase, rate: 48_000 }]
        : []),
    ];
    for (const { sender, base, rate } of tracks) {
      const s = sender as unknown as WeriftSenderInternals & { cname?: string };
      const packets: Array<RtcpSrPacket | RtcpSourceDescriptionPacket> = [
        new RtcpSrPacket({
          ssrc: s.ssrc,
          senderInfo: new RtcpSenderInfo({
            ntpTimestamp,
            rtpTimestamp: (base + Math.round((elapsedMs * rate) / 1000)) >>> 0,
            packetCount: s.packetCount >>> 0,
            octetCount: s.octetCount >>> 0,
          }),
        }),
      ];
      if (s.cname) {
        packets.push(
          new RtcpSourceDescriptionPacket({
            chunks: [
              new SourceDescriptionChunk({
                source: s.ssrc,
                items: [new SourceDescriptionItem({ type: 1, text: s.cname })],
              }),
            ],
          }),
        );
      }
      // werift's own bookkeeping for the receiver's round-trip report (LSR/DLSR).
      (s as unknown as { lastSRtimestamp: number }).lastSRtimestamp = Number(
        (ntpTimestamp >> 16n) & 0xffffffffn,
      );
      (s as unknown as { lastSentSRTimestamp: number }).lastSentSRTimestamp = nowEpochMs / 1000;
      sender.dtlsTransport?.sendRtcp(packets).catch(this.#sendFailed);
    }
    // RFC 3550 §6.2: randomised around the interval (here 1 s), so reports do not synchronise.
    this.#reports = setTimeout(this.#sendReports, 500 + Math.random() * 1000);
    this.#reports.unref?.();
  };

  /** Picture Loss Indication from the receiver. */
  onKeyframeRequest(listener: () => void) {
    this.#sender.onPictureLossIndication.subscribe(() => {
      this.#log.debug('keyframe requested (PLI)');
      listener();
    });
  }

  /**
   * Any RTCP the receiver sends about our stream: receiver reports (about one a second from
   * browsers and werift), PLI, NACK, REMB. Its silence means the viewer is gone (see session/SessionFactory.ts).
   */
  onReceiverRtcp(listener: () => void) {
    this.#sender.onRtcp.subscribe(() => listener());
  }

  /** The ICE username fragment of the offer, to tell a trickle PATCH from an ICE restart. */
  get remoteIceUfrag(): string | undefined {
    return this.#remoteUfrag;
  }

  /**
   * Adds candidates the client trickles after its offer (WHEP PATCH, RFC 8840). Once connected,
   * werift has nominated its pair and checks no new one (and has released the parsed SDP it
   * would file them under: releaseAfterConnect.ts), so a late candidate is accepted and dropped.
   */
  async addRemoteCandidates(candidates: RemoteCandidate[]) {
    if (this.#connectedOnce) {
      this.#log.debug(
        { candidates: candidates.length },
        'trickled candidates after connecting: not needed',
      );
      return;
    }
    for (const c of candidates) {
      // A candidate werift cannot use is dropped without an error to the client, as WHEP asks.
      await this.#pc
        .addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid })
        .catch((err: Error) =>
          this.#log.debug(
            { candidate: c.candidate, err: err.message },
            'trickled candidate dropped',
          ),
        );
    }
  }

  onStateChange(listener: (state: PeerState) => void) {
    this.#pc.connectionStateChange.subscribe((state) => listener(state as PeerState));
  }

  /**
   * Text messages on any data channel the client opens, with a way to answer on that channel.
   * `greeting` is sent as soon as a channel opens. Besides telling the client the session's state,
   * it works around a loss seen with Chromium 156: the first message werift sends after the DCEP
   * handshake, when sent after a pause, never arrives and is retransmitted only by the 1 s SCTP T3
   * timer (measured: the first speaking reply took 1005 ms, the following ones 3–7 ms). A message
   * sent right at open arrives, and so do all later ones (first reply then 5 ms).
   */
  onControl(handler: ControlHandler, greeting?: () => string, binary?: BinaryHandler) {
    const attach = (channel: RTCDataChannel) => {
      this.#channels.add(channel);
      channel.stateChanged.subscribe((state) => {
        if (state === 'closed') this.#channels.delete(channel);
      });
      const send = (text: string) => {
        if (channel.readyState === 'open') channel.send(text);
        else
          this.#log.debug({ state: channel.readyState }, 'control reply dropped: channel not open');
      };
      channel.stateChanged.subscribe((state) => {
        this.#log.debug({ label: channel.label, state }, 'data channel state');
      });
      channel.error.subscribe((err) => {
        this.#log.debug({ label: channel.label, err: err.message }, 'data channel error');
      });
      if (greeting) {
        if (channel.readyState === 'open') send(greeting());
        else {
          const { unSubscribe } = channel.stateChanged.subscribe((state) => {
            if (state !== 'open') return;
            unSubscribe();
            send(greeting());
          });
        }
      }
      channel.onMessage.subscribe((message) => {
        if (typeof message === 'string') handler(message, send);
        else if (binary) binary(message, send);
        else handler(message.toString('utf8'), send);
      });
    };
    this.#pc.onDataChannel.subscribe(attach);
    if (this.#ownChannel) attach(this.#ownChannel);
  }

  /** A message to every open control channel (events such as speech start and end). */
  sendControl(text: string) {
    for (const channel of this.#channels) {
      if (channel.readyState === 'open') channel.send(text);
    }
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reports);
    if (this.#sendFailures > 1) {
      this.#log.debug({ failures: this.#sendFailures }, 'RTP sends failed in all');
    }
    await this.#pc.close().catch((err: Error) => {
      this.#log.debug({ err: err.message }, 'closing the peer connection failed');
    });
  }
}

/** The `a=ice-ufrag` of an SDP (the session-level one, or the first section's). */
const iceUfrag = (sdp: string) => /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];

/** A peer connection that fails to close was already torn down; nothing else to do. */
const closeFailed = (err: Error) =>
  mediaLogger('webrtc').debug({ err: err.message }, 'closing a refused peer connection failed');

type FastPath = {
  send(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean): void;
};

/** werift internals the direct path reads (0.25.2): the SRTP session keys and the ICE socket. */
type WeriftSrtpContext = {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
};
type WeriftSenderInternals = {
  ssrc: number;
  codec?: { payloadType: number };
  mid?: string;
  packetCount: number;
  octetCount: number;
  dtlsTransport?: {
    srtp?: { localContext?: WeriftSrtpContext };
    iceTransport: { connection: IceConnectionInternals };
  };
};

/**
 * The send path without werift's per-packet RtpPacket clone and SRTP object churn: each packet is
 * written once into its SRTP bytes (srtpWriter.ts) and sent on the nominated ICE pair's socket
 * (iceSend.ts), with no promise per packet. werift
 * still sends the RTCP sender reports (we keep its counters current) and parses NACKs; we answer
 * them from our own history, since werift's holds only what passed through its sendRtp. Returns
 * null (use werift's sendRtp) for anything it does not know: another SRTP profile, or a header
 * extension other than mid, abs-send-time and playout-delay (e.g. transport-cc). `nack: false`
 * (the Opus track: browsers do not NACK audio) keeps no history.
 */
function createFastPath(
  sender: RTCRtpSender,
  playoutDelayId: number | undefined,
  log: Logger,
  sendFailed: (err: unknown) => void,
  nack = true,
): FastPath | null {
  const s = sender as unknown as WeriftSenderInternals;
  const context = s.dtlsTransport?.srtp?.localContext;
  const connection = s.dtlsTransport?.iceTransport.connection;
  const payloadType = s.codec?.payloadType;
  const slowPath = (why: string) => {
    log.debug({ why }, "sending through werift's sendRtp (no direct SRTP path)");
    return null;
  };
  if (!context || !connection || payloadType === undefined) {
    return slowPath('werift internals not found (SRTP context, ICE connection or payload type)');
  }
  let keys: SrtpKeys;
  if (context.profile === ProtectionProfileAeadAes128Gcm) {
    keys = { profile: 'gcm', key: context.srtpSessionKey, salt: context.srtpSessionSalt };
  } else if (context.profile === ProtectionProfileAes128CmHmacSha1_80) {
    keys = {
      profile: 'cm',
      key: context.srtpSessionKey,
      salt: context.srtpSessionSalt,
      authKey: context.srtpSessionAuthTag,
    };
  } else return slowPath(`SRTP profile ${context.profile}`);
  const extensions: RtpExtension[] = [];
  let absSendTimeId: number | undefined;
  const negotiated = (sender as unknown as { headerExtensions: Array<{ uri: string; id: number }> })
    .headerExtensions;
  for (const e of negotiated) {
    if (e.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid') {
      if (s.mid) extensions.push({ id: e.id, payload: Buffer.from(s.mid) });
    } else if (e.uri === 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time') {
      absSendTimeId = e.id;
    } else if (e.uri === PLAYOUT_DELAY_URI && e.id === playoutDelayId) {
      extensions.push({ id: e.id, payload: PLAYOUT_DELAY_ZERO });
    } else return slowPath(`header extension ${e.uri}`);
  }
  const writer = new SrtpWriter(keys, {
    ssrc: s.ssrc,
    payloadType,
    extensions,
    absSendTimeId,
    logger: log,
  });
  log.debug({ profile: keys.profile, extensions: negotiated.length }, 'direct SRTP send path');
  // 256 slots from the start, what the default avatar's history grows to anyway: starting at 64,
  // a viewer's NACKs in the first second could miss, and e2e playback saw a repeated frame in 2
  // of 6 runs under load (0 of 6 with 256 or 1,024).
  const history = nack ? new RtpHistory({ initial: 256 }) : undefined;
  const send = iceSend(connection, sendFailed);
  sender.onGenericNack.subscribe((nack) => {
    if (!history) return;
    let resent = 0;
    for (const seq of nack.lost) {
      const p = history.get(seq);
      if (!p) continue;
      const now = performance.timeOrigin + performance.now();
      const packet = writer.protect(p.payload, seq, p.timestamp, p.marker, now, p.roc);
      send(packet);
      resent++;
    }
    // Lost packets no longer in the history are gone for good: the viewer waits for a PLI's keyframe.
    if (log.isLevelEnabled('debug')) log.debug({ lost: nack.lost.length, resent }, 'NACK answered');
  });
  return {
    send(payload, sequenceNumber, timestamp, marker) {
      const packet = writer.protect(payload, sequenceNumber, timestamp, marker);
      history?.put(payload, sequenceNumber, timestamp, marker, writer.rolloverCounter);
      send(packet);
      // The counters our sender reports carry (AvatarPeer.#sendReports).
      s.packetCount = (s.packetCount + 1) >>> 0;
      s.octetCount += payload.length;
    },
  };
}
