import { Writable } from 'node:stream';
import { receiverH264, receiverVideoExtensions, waitFor } from '@avatar-server/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RTCDataChannel,
  RTCPeerConnection,
  type RtpPacket,
  SrtpAuthenticationError,
} from 'werift';
import { setMediaLogger } from '../src/lib/logger.js';
import { AvatarPeer } from '../src/webrtc/AvatarPeer.js';
import { slimEvents } from '../src/webrtc/releaseAfterConnect.js';

/**
 * webrtc/releaseAfterConnect.ts releases state of werift's own objects at runtime, so it is
 * tested against werift's real code: an AvatarPeer answering a real werift viewer (video and a
 * control channel) is slimmed once connected, then must still stream, answer NACKs from its
 * history (a packet the viewer drops once is sent again), take PLI and receiver reports, and
 * carry data-channel messages both ways.
 */

/** The media path's debug lines (AvatarPeer logs what it slimmed and the NACKs it answered). */
const lines: Array<Record<string, unknown>> = [];
setMediaLogger(
  pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  ),
);

const DROP = new SrtpAuthenticationError('dropped once by the test');

let peer: AvatarPeer;
let viewer: RTCPeerConnection;
let control: RTCDataChannel;
let sender: NodeJS.Timeout | undefined;
const received: RtpPacket[] = [];
const replies: string[] = [];
let keyframeRequests = 0;
let receiverRtcp = 0;
/** The sequence number the viewer drops the first time it arrives, so it NACKs it. */
let dropOnce: number | undefined;
let dropped = 0;
/** Our host candidates (one socket each), as the answer listed them. */
let localCandidates = 0;
/** Sender reports from the peer, as the viewer decrypted them (the peer's SRTCP). */
let senderReports = 0;

beforeAll(async () => {
  viewer = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: { video: [receiverH264()], audio: [] },
    headerExtensions: { video: receiverVideoExtensions() },
  });
  const video = viewer.addTransceiver('video', { direction: 'recvonly' });
  video.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => received.push(rtp)));
  video.receiver.onRtcp.subscribe((rtcp) => {
    if (rtcp.type === 200) senderReports++;
  });
  control = viewer.createDataChannel('control');
  control.onMessage.subscribe((m) => replies.push(String(m)));
  await viewer.setLocalDescription(await viewer.createOffer());

  peer = await AvatarPeer.answer(viewer.localDescription!.sdp, {
    additionalHostAddresses: ['127.0.0.1'],
    useIpv6: false,
  });
  peer.onKeyframeRequest(() => keyframeRequests++);
  peer.onReceiverRtcp(() => receiverRtcp++);
  peer.onControl(
    (text, reply) => reply(`echo ${text}`),
    () => 'hello',
  );
  // (The answer lists them in each bundled section.)
  localCandidates = new Set(peer.answer.match(/^a=candidate:.*$/gm)).size;
  await viewer.setRemoteDescription({ type: 'answer', sdp: peer.answer });

  // One small packet per 20 ms, as the session's sender would (each a whole picture).
  let seq = 1000;
  let timestamp = 0;
  const payload = Buffer.alloc(200, 0x41);
  payload[0] = 0x65;
  sender = setInterval(() => {
    if (!peer.ready) return;
    peer.send(payload, seq, timestamp, true);
    seq = (seq + 1) & 0xffff;
    timestamp = (timestamp + 1800) >>> 0;
  }, 20);

  await waitFor(() => peer.ready && received.length > 0, { what: 'the first packet' });
  // Our sender reports (AvatarPeer.#sendReports), about one a second, through werift's SRTCP.
  peer.setMediaClock({ originEpochMs: Date.now(), videoBase: 0, audioBase: 0 });
  // The viewer's SRTP session: drop one chosen packet the first time it arrives.
  const transport = video.receiver.dtlsTransport as unknown as {
    srtp: { decrypt(data: Buffer): Buffer };
  };
  const decrypt = transport.srtp.decrypt.bind(transport.srtp);
  transport.srtp.decrypt = (data: Buffer) => {
    if (data.readUInt16BE(2) === dropOnce && dropped++ === 0) throw DROP;
    return decrypt(data);
  };
});

afterAll(async () => {
  clearInterval(sender);
  await peer?.close();
  await viewer?.close();
});

describe('a slimmed peer (webrtc/releaseAfterConnect.ts)', () => {
  it('released its Events, DTLS handshake state and pooled key slices once connected', async () => {
    await waitFor(() => lines.some((l) => l.msg === 'peer slimmed after connecting'), {
      what: 'the slimming log line',
    });
    const line = lines.find((l) => l.msg === 'peer slimmed after connecting')!;
    // werift 0.25.2 builds about 70 Events per peer; the DTLS socket is the one transport's.
    expect(line.events).toBeGreaterThan(50);
    expect(line.dtlsHandshakes).toBe(1);
    // SRTP and SRTCP keys and salts (local and remote), the DTLS record keys: each got its own copy.
    expect(line.keys).toBeGreaterThan(8);
    // One socket per local address (here the interface address and 127.0.0.1): all but the
    // nominated pair's are closed.
    // Every pair's record of incoming checks is bounded (releaseIce.ts).
    expect(line.icePairs).toBeGreaterThanOrEqual(1);
    // werift's parsed descriptions, and our answer's text.
    expect(line.sdp).toBe(true);
    expect(() => peer.answer).toThrow(/released once the peer is connected/);
    // SRTCP's local and remote contexts now use SRTP's keys and ciphers.
    expect(line.srtcpContexts).toBe(2);
    expect(line.strings).toBeGreaterThan(100);
  });

  it('keeps the offer’s ICE ufrag, and takes a candidate trickled after connecting', async () => {
    const offered = /^a=ice-ufrag:(\S+)/m.exec(viewer.localDescription!.sdp)![1];
    expect(peer.remoteIceUfrag).toBe(offered);
    const before = received.length;
    await peer.addRemoteCandidates([
      { candidate: 'candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host', sdpMid: '0' },
    ]);
    expect(lines.some((l) => l.msg === 'trickled candidates after connecting: not needed')).toBe(
      true,
    );
    await waitFor(() => received.length >= before + 10, { what: 'streaming to go on' });
  });

  it('closes the sockets the viewer stopped checking (all but the nominated pair’s)', async () => {
    // werift's viewer checks no other pair once nominated: they are quiet after 6 s.
    await waitFor(() => lines.some((l) => l.msg === 'unused ICE sockets closed'), {
      what: 'the unused sockets to be closed',
      timeoutMs: 15_000,
    });
    expect(localCandidates).toBeGreaterThan(1);
    const line = lines.find((l) => l.msg === 'unused ICE sockets closed')!;
    expect(line.closed).toBe(localCandidates - 1);
  }, 20_000);

  it('still answers consent checks and sends its own on the socket it kept (RFC 7675)', async () => {
    // The viewer's nominated pair: its consent requests answered by the peer, and the peer's
    // consent requests received (werift sends one every 4–6 s from each side).
    const pair = (
      viewer.iceTransports[0] as unknown as {
        connection: { nominated: { responsesReceived: number; requestsReceived: number } };
      }
    ).connection.nominated;
    const answered = pair.responsesReceived;
    const asked = pair.requestsReceived;
    await waitFor(() => pair.responsesReceived > answered && pair.requestsReceived > asked, {
      what: 'a consent check each way after the slimming',
      timeoutMs: 15_000,
    });
    expect(viewer.iceConnectionState).toBe('connected');
  }, 20_000);

  it('keeps streaming, in order', async () => {
    const before = received.length;
    await waitFor(() => received.length >= before + 25, { what: '25 more packets' });
    const seqs = received.slice(before).map((p) => p.header.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);
  });

  it('answers a NACK from its history: a packet the viewer dropped arrives again', async () => {
    const next = received.at(-1)!.header.sequenceNumber;
    dropOnce = (next + 10) & 0xffff;
    await waitFor(() => dropped > 0, { what: 'the chosen packet to arrive (and be dropped)' });
    await waitFor(() => received.some((p) => p.header.sequenceNumber === dropOnce), {
      what: 'the dropped packet to be sent again',
      timeoutMs: 10_000,
    });
    expect(lines.some((l) => l.msg === 'NACK answered' && Number(l.resent) >= 1)).toBe(true);
  });

  it('takes a PLI and the receiver reports', async () => {
    const ssrc = received.at(-1)!.header.ssrc;
    const before = keyframeRequests;
    await viewer.getTransceivers()[0]!.receiver.sendRtcpPLI(ssrc);
    await waitFor(() => keyframeRequests > before, { what: 'the PLI to reach the peer' });
    await waitFor(() => receiverRtcp > 0, { what: 'a receiver report', timeoutMs: 10_000 });
  });

  it('sends sender reports the viewer decrypts (SRTCP on the shared context)', async () => {
    const before = senderReports;
    await waitFor(() => senderReports > before, { what: 'a sender report', timeoutMs: 10_000 });
  });

  it('carries data-channel messages both ways', async () => {
    await waitFor(() => replies.includes('hello'), { what: 'the greeting' });
    control.send('ping');
    await waitFor(() => replies.includes('echo ping'), { what: 'the reply to ping' });
  });
});

describe('slimEvents', () => {
  it('leaves Events of another shape alone', () => {
    class Event {
      event = { stack: [], promiseStack: [], eventId: 0 };
      subscribe = () => ({ unSubscribe() {} });
    }
    const holder = { e: new Event() };
    expect(slimEvents(holder)).toBe(0);
  });

  it("behaves as werift's Event after slimming (subscribe, once, asPromise, complete)", async () => {
    const pc = new RTCPeerConnection();
    const WeriftEvent = Object.getPrototypeOf(pc.connectionStateChange).constructor as new () => {
      execute(...args: unknown[]): void;
      subscribe(f: (...args: unknown[]) => void, complete?: () => void): { unSubscribe(): void };
      once(f: (...args: unknown[]) => void): void;
      asPromise(ms?: number): Promise<unknown[]>;
      complete(): void;
      ended: boolean;
      length: number;
    };
    const event = new WeriftEvent();
    const other = new WeriftEvent();
    const original = event.execute;
    expect(slimEvents({ event, other })).toBe(2);
    expect(event.execute).not.toBe(original);
    expect(slimEvents({ event })).toBe(0); // already slim
    // Never subscribed: both share one empty subscriber list, until the first subscription.
    type Lists = { event: { stack: unknown[] } };
    expect((event as unknown as Lists).event).toBe((other as unknown as Lists).event);
    const seenByOther: unknown[] = [];
    const seen: unknown[] = [];
    const sub = event.subscribe((v) => seen.push(v));
    event.once((v) => seen.push(`once ${v}`));
    const promised = event.asPromise(1000);
    event.execute(1);
    event.execute(2);
    expect(seen).toEqual([1, 'once 1', 2]);
    expect(await promised).toEqual([1]);
    // The other Event's list stayed empty and shared; its own subscription works.
    expect((other as unknown as Lists).event.stack).toHaveLength(0);
    other.subscribe((v) => seenByOther.push(v));
    other.execute('x');
    expect(seenByOther).toEqual(['x']);
    expect(seen).toEqual([1, 'once 1', 2]);
    sub.unSubscribe();
    event.execute(3);
    expect(seen).toEqual([1, 'once 1', 2]);
    let completed = false;
    event.subscribe(
      () => {},
      () => {
        completed = true;
      },
    );
    event.complete();
    expect(completed).toBe(true);
    expect(event.ended).toBe(true);
    expect(event.length).toBe(0);
    await pc.close();
  });
});
