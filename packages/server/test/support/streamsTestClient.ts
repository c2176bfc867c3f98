import {
  type RTCDataChannel,
  RTCPeerConnection,
  RTCRtpHeaderExtensionParameters,
  type RtpPacket,
  useH264,
  useNACK,
  usePLI,
  useSdesMid,
} from 'werift';
import { depacketize } from './depacketize.js';
import { hasIdr, type ReceivedFrame } from './whepTestClient.js';

/** What `POST /streams` answers (the original API). */
export type StreamCreated = {
  id: string;
  session_id: string;
  avatar: string;
  offer: { type: 'offer'; sdp: string };
  urls: { answer: string; speaking: string; session: string };
};

/**
 * A real WebRTC peer (werift) playing the original system's client: it takes the server's offer
 * from `POST /streams`, answers it, and collects the pictures it receives. The server opens the
 * control data channel; its greeting is kept in `hello`.
 */
export class StreamsTestClient {
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: {
      video: [
        useH264({
          parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
          rtcpFeedback: [useNACK(), usePLI()],
        }),
      ],
      audio: [],
    },
    headerExtensions: {
      video: [
        useSdesMid(),
        new RTCRtpHeaderExtensionParameters({
          uri: 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
        }),
      ],
    },
  });
  readonly frames: ReceivedFrame[] = [];
  hello: Record<string, unknown> | undefined;
  control: RTCDataChannel | undefined;
  #replies: Array<(message: Record<string, unknown>) => void> = [];
  #current: RtpPacket[] = [];

  constructor() {
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.#onRtp(rtp));
    });
    this.pc.onDataChannel.subscribe((channel) => {
      this.control = channel;
      channel.onMessage.subscribe((m) => {
        const message = JSON.parse(typeof m === 'string' ? m : m.toString('utf8'));
        if (message.type === 'hello') this.hello = message;
        else this.#replies.shift()?.(message);
      });
    });
  }

  #onRtp(rtp: RtpPacket) {
    const head = this.#current[0];
    if (head && head.header.timestamp !== rtp.header.timestamp) this.#current = [];
    this.#current.push(rtp);
    if (!rtp.header.marker) return;
    const first = this.#current[0]!.header.sequenceNumber;
    const rank = (p: RtpPacket) => (p.header.sequenceNumber - first + 0x10000) & 0xffff;
    const packets = this.#current.sort((a, b) => rank(a) - rank(b));
    this.#current = [];
    const annexB = depacketize(packets.map((p) => p.payload));
    this.frames.push({
      annexB,
      timestamp: rtp.header.timestamp,
      keyframe: hasIdr(annexB),
      receivedAt: performance.now(),
      firstSequence: packets[0]!.header.sequenceNumber,
      extensions: packets[0]!.header.extensions,
    });
  }

  /** Applies the server's offer and returns our answer's SDP (non-trickle: with candidates). */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.pc.localDescription!.sdp;
  }

  /** POSTs the original API's body, answers the offer at `urls.answer`; returns the creation. */
  static async open(
    serverUrl: string,
    body: unknown,
  ): Promise<{ client: StreamsTestClient; created: StreamCreated }> {
    const response = await fetch(`${serverUrl}/streams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) {
      throw new Error(`POST /streams: ${response.status} ${await response.text()}`);
    }
    const created = (await response.json()) as StreamCreated;
    const client = new StreamsTestClient();
    const sdp = await client.answer(created.offer.sdp);
    const answered = await fetch(created.urls.answer, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'answer', sdp }),
    });
    if (answered.status !== 200) {
      throw new Error(`POST answer: ${answered.status} ${await answered.text()}`);
    }
    return { client, created };
  }

  async waitFor(check: () => boolean, what: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  waitForFrames(count: number) {
    return this.waitFor(() => this.frames.length >= count, `${count} frames`);
  }

  /** Sends a control message on the server's channel and resolves with the reply. */
  request(message: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.#replies.push(resolve);
      this.control!.send(JSON.stringify(message));
    });
  }

  async close() {
    await this.pc.close();
  }
}
