/**
 * The viewers of `bench/sessionMemory.ts`, in their own process so their memory is not the
 * server's: N real werift receivers, each a full WHEP session as a browser opens it — a recvonly
 * H.264 section and a `control` data channel — that completes ICE, DTLS and SCTP, receives the
 * server's greeting on the channel and then SRTP. As in `bench/capacityLoad.ts`, only one packet
 * in SAMPLE is decrypted (werift's own SRTP session; the rest are counted from their cleartext
 * header) so this process keeps up with a hundred streams; the sampled packets reach werift's
 * receiver, which therefore sends the receiver reports that keep each session alive.
 */

import { receiverH264, receiverVideoExtensions } from '@avatar-server/testkit';
import { type RTCDataChannel, RTCPeerConnection, SrtpAuthenticationError } from 'werift';

const SAMPLE = 32;
/** Thrown (one shared instance) to make werift drop a packet we counted but did not decrypt. */
const DROP = new SrtpAuthenticationError('counted, not decrypted (bench sample)');

class Viewer {
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: { video: [receiverH264({ nack: false })], audio: [] },
    headerExtensions: { video: receiverVideoExtensions() },
  });
  readonly channel: RTCDataChannel;
  packets = 0;
  authenticated = 0;
  messages = 0;
  /** The session's URL (the 201's Location), to end it if this viewer gives up. */
  session: string | undefined;
  #count = 0;

  constructor() {
    const { receiver } = this.pc.addTransceiver('video', { direction: 'recvonly' });
    // Sparse delivery would otherwise make werift NACK every packet it did not see.
    Object.defineProperty(receiver, 'nackEnabled', { get: () => undefined });
    this.channel = this.pc.createDataChannel('control');
    this.channel.onMessage.subscribe(() => this.messages++);
  }

  async connect(url: string, timeoutMs = 30_000) {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: this.pc.localDescription!.sdp,
    });
    if (res.status !== 201) throw new Error(`WHEP POST ${res.status}: ${await res.text()}`);
    this.session = new URL(res.headers.get('location')!, url).href;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const transport = this.pc.getTransceivers()[0]!.receiver.dtlsTransport as unknown as {
      srtp?: { decrypt(data: Buffer): Buffer };
    };
    const deadline = Date.now() + timeoutMs;
    const until = async (done: () => boolean, what: string) => {
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => transport.srtp !== undefined, 'DTLS');
    const srtp = transport.srtp!;
    const decrypt = srtp.decrypt.bind(srtp);
    srtp.decrypt = (data: Buffer) => {
      this.packets++;
      if (++this.#count % SAMPLE !== 0) throw DROP;
      const plain = decrypt(data);
      if (plain.readUInt16BE(2) === data.readUInt16BE(2)) this.authenticated++;
      return plain;
    };
    await until(() => this.packets > 0, 'the first SRTP packet');
    // The server greets on open: the data channel (SCTP + DCEP) is up end to end.
    await until(() => this.messages > 0, 'the greeting on the data channel');
  }
}

const viewers: Viewer[] = [];

/** Opens `count` more viewers; one that fails (a loaded machine) is closed and tried again. */
async function open(url: string, count: number, concurrency: number) {
  let failed = 0;
  const errors: string[] = [];
  const target = viewers.length + count;
  let inFlight = 0;
  const started = performance.now();
  const run = async () => {
    while (viewers.length + inFlight < target && failed <= count) {
      inFlight++;
      const viewer = new Viewer();
      try {
        await viewer.connect(url);
        viewers.push(viewer);
      } catch (err) {
        failed++;
        if (errors.length < 3) errors.push((err as Error).message);
        await viewer.pc.close().catch(() => {});
        if (viewer.session) await fetch(viewer.session, { method: 'DELETE' }).catch(() => {});
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, run));
  return { opened: viewers.length, failed, errors, ms: Math.round(performance.now() - started) };
}

/** Packets and authenticated samples since the last report: every viewer must still receive. */
function report() {
  const silent = viewers.filter((v) => v.packets === 0).length;
  const packets = viewers.reduce((n, v) => n + v.packets, 0);
  const authenticated = viewers.reduce((n, v) => n + v.authenticated, 0);
  const open = viewers.filter((v) => v.channel.readyState === 'open').length;
  for (const v of viewers) {
    v.packets = 0;
    v.authenticated = 0;
  }
  return { viewers: viewers.length, silent, packets, authenticated, channelsOpen: open };
}

process.on('message', async (m: { cmd: string; url?: string; count?: number }) => {
  if (m.cmd === 'open') {
    process.send!({ type: 'opened', ...(await open(m.url!, m.count!, 4)) });
  } else if (m.cmd === 'report') {
    process.send!({ type: 'report', ...report() });
  } else if (m.cmd === 'exit') {
    await Promise.all(viewers.splice(0).map((v) => v.pc.close().catch(() => {})));
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
