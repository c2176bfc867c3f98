import {
  PictureLossIndication,
  type RTCDataChannel,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  type RtpPacket,
} from 'werift';
import { waitFor } from '../waitFor.js';
import {
  FrameAssembler,
  type ReceivedFrame,
  receiverH264,
  receiverVideoExtensions,
} from './receivedFrames.js';

/**
 * A real WebRTC receiver in Node (werift), speaking WHEP to the server as a player would:
 * recvonly video (+ optionally audio) and a data channel, non-trickle offer, then it collects
 * RTP packets into pictures by marker bit.
 */
export class WhepTestClient {
  readonly pc: RTCPeerConnection;
  readonly frames: ReceivedFrame[] = [];
  location = '';
  etag = '';
  answer = '';
  control: RTCDataChannel | undefined;
  #assembler = new FrameAssembler();
  #waiters: Array<() => void> = [];
  #controlReplies: Array<(message: Record<string, unknown>) => void> = [];
  /** The server's greeting on the control channel. */
  hello: Record<string, unknown> | undefined;
  /** Events the server sends on its own (`{"type":"speech",…}`), in order: not replies. */
  readonly events: Array<Record<string, unknown>> = [];
  #remoteSsrc = 0;

  constructor(opts: { audio?: boolean; dataChannel?: boolean } = {}) {
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
      codecs: {
        video: [receiverH264()],
        audio: [
          new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }),
        ],
      },
      headerExtensions: {
        video: receiverVideoExtensions(),
      },
    });
    const video = this.pc.addTransceiver('video', { direction: 'recvonly' });
    if (opts.audio) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    if (opts.dataChannel !== false) {
      this.control = this.pc.createDataChannel('control');
      this.control.onMessage.subscribe((m) => {
        const text = typeof m === 'string' ? m : m.toString('utf8');
        const message = JSON.parse(text) as Record<string, unknown>;
        if (message.type === 'hello') this.hello = message;
        else if (message.type === 'speech') this.events.push(message);
        else this.#controlReplies.shift()?.(message);
      });
    }
    video.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.#onRtp(rtp));
    });
  }

  #onRtp(rtp: RtpPacket) {
    this.#remoteSsrc = rtp.header.ssrc;
    const frame = this.#assembler.push(rtp);
    if (!frame) return;
    this.frames.push(frame);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** POSTs the offer to a WHEP endpoint; returns the raw response (for status checks). */
  async connect(endpoint: string): Promise<Response> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: this.pc.localDescription!.sdp,
    });
    if (response.status !== 201) return response;
    this.location = response.headers.get('location') ?? '';
    this.etag = response.headers.get('etag') ?? '';
    this.answer = await response.text();
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this.answer });
    return response;
  }

  /** Resolves once `count` pictures have arrived in total. */
  async waitForFrames(count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.frames.length}/${count} frames arrived`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async waitForControlChannel(timeoutMs = 10_000) {
    await waitFor(() => this.control?.readyState === 'open', {
      timeoutMs,
      what: 'the data channel to open',
    });
  }

  /** Sends a control message on the data channel and resolves with the server's reply. */
  request(message: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.#controlReplies.push(resolve);
      this.control!.send(JSON.stringify(message));
    });
  }

  /** Sends an RTCP Picture Loss Indication for the server's video stream. */
  async sendPli() {
    const [transceiver] = this.pc.getTransceivers();
    const pli = new RtcpPayloadSpecificFeedback({
      feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: this.#remoteSsrc }),
    });
    await transceiver!.receiver.dtlsTransport.sendRtcp([pli]);
  }

  async close() {
    await this.pc.close();
  }
}
