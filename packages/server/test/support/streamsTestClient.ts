import { type RTCDataChannel, RTCPeerConnection, type RtpPacket } from 'werift';
import {
  FrameAssembler,
  type ReceivedFrame,
  receiverH264,
  receiverVideoExtensions,
} from './receivedFrames.js';

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
      video: [receiverH264()],
      audio: [],
    },
    headerExtensions: { video: receiverVideoExtensions() },
  });
  readonly frames: ReceivedFrame[] = [];
  hello: Record<string, unknown> | undefined;
  control: RTCDataChannel | undefined;
  #replies: Array<(message: Record<string, unknown>) => void> = [];
  #assembler = new FrameAssembler();

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
    const frame = this.#assembler.push(rtp);
    if (frame) this.frames.push(frame);
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
