import {
  MediaStream,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpHeaderExtensionParameters,
  type RTCRtpSender,
  RtpHeader,
  RtpPacket,
  useAbsSendTime,
  useFIR,
  useH264,
  useNACK,
  usePLI,
  useSdesMid,
} from 'werift';
import type { VideoSender } from '../session/videoSender.js';
import { addRtcpMuxOnly, checkOffer, OfferError } from './offer.js';

/**
 * The only file that knows werift (0.25.2): one RTCPeerConnection answering a WHEP offer with a
 * sendonly H.264 track, plus the data channel the client opens for control.
 * See ../../../docs/werift.md for the pitfalls this works around.
 */

export type IceOptions = {
  portRange?: [number, number] | undefined;
  additionalHostAddresses: string[];
  useIpv6: boolean;
};

/** playout-delay (webrtc.org extension): min = max = 0 asks the receiver to render at once. */
const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const PLAYOUT_DELAY_ZERO = Buffer.from([0, 0, 0]);

/** The H.264 flavour both our encoders produce; the answer then picks this exact offer entry. */
const h264 = () =>
  useH264({
    parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
    rtcpFeedback: [useNACK(), usePLI(), useFIR()],
  });

export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export type ControlHandler = (text: string, reply: (text: string) => void) => void;

export class AvatarPeer implements VideoSender {
  readonly answer: string;
  #pc: RTCPeerConnection;
  #sender: RTCRtpSender;
  #playoutDelayId: number | undefined;
  #ready = false;
  #closed = false;

  private constructor(pc: RTCPeerConnection, sender: RTCRtpSender, answer: string) {
    this.#pc = pc;
    this.#sender = sender;
    this.answer = answer;
  }

  /** Answers `offer` (non-trickle: the answer carries all our candidates). */
  static async answer(offer: string, ice: IceOptions): Promise<AvatarPeer> {
    checkOffer(offer);
    const codec = h264();
    const pc = new RTCPeerConnection({
      // No STUN: host candidates only, gathered inside setLocalDescription (a few ms).
      iceServers: [],
      iceUseIpv4: true,
      iceUseIpv6: ice.useIpv6,
      iceAdditionalHostAddresses: ice.additionalHostAddresses,
      ...(ice.portRange ? { icePortRange: ice.portRange } : {}),
      codecs: { video: [codec], audio: [] },
      // No transport-cc: werift's TWCC bookkeeping grows by ~6 MB per peer (docs/werift.md).
      headerExtensions: {
        video: [
          useSdesMid(),
          useAbsSendTime(),
          new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI }),
        ],
      },
    });
    try {
      // The track must carry its codec before setRemoteDescription, or werift answers with the
      // first H.264 entry of the offer whatever its profile.
      const track = new MediaStreamTrack({ kind: 'video', codec });
      const transceiver = pc.addTransceiver(track, {
        direction: 'sendonly',
        streams: [new MediaStream([track])],
      });
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      } catch (err) {
        throw new OfferError(
          'unparsable',
          `the SDP offer could not be applied: ${(err as Error).message}`,
        );
      }
      await pc.setLocalDescription(await pc.createAnswer());
      const local = pc.localDescription;
      if (!local) throw new Error('werift produced no local description');
      if (!transceiver.sender.codec && !/^m=video [1-9]/m.test(local.sdp)) {
        throw new OfferError(
          'unusable',
          'no H.264 profile in the offer matches 42e01f packetization-mode=1',
        );
      }
      const peer = new AvatarPeer(pc, transceiver.sender, addRtcpMuxOnly(local.sdp));
      peer.#playoutDelayId = transceiver.headerExtensions.find(
        (e) => e.uri === PLAYOUT_DELAY_URI,
      )?.id;
      pc.connectionStateChange.subscribe((state) => {
        peer.#ready = state === 'connected';
      });
      return peer;
    } catch (err) {
      await pc.close().catch(() => {});
      throw err;
    }
  }

  get ready() {
    return this.#ready && !this.#closed;
  }

  send(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean) {
    const header = new RtpHeader({ sequenceNumber, timestamp, marker });
    if (this.#playoutDelayId !== undefined) {
      header.extensions = [{ id: this.#playoutDelayId, payload: PLAYOUT_DELAY_ZERO }];
    }
    // werift adds SSRC, payload type, mid and abs-send-time, keeps the packet for NACKs, then SRTP.
    this.#sender.sendRtp(new RtpPacket(header, payload)).catch(() => {});
  }

  /** PLI, or FIR (which werift parses but does not raise as an event). */
  onKeyframeRequest(listener: () => void) {
    this.#sender.onPictureLossIndication.subscribe(listener);
    this.#sender.onRtcp.subscribe((packet) => {
      if (
        packet.type === 206 &&
        (packet as { feedback?: { count?: number } }).feedback?.count === 4
      ) {
        listener();
      }
    });
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
  onControl(handler: ControlHandler, greeting?: () => string) {
    this.#pc.onDataChannel.subscribe((channel) => {
      const send = (text: string) => {
        if (channel.readyState === 'open') channel.send(text);
      };
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
        handler(typeof message === 'string' ? message : message.toString('utf8'), send);
      });
    });
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pc.close().catch(() => {});
  }
}
