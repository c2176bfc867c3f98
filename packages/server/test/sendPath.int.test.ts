import { WhepTestClient, waitFor } from '@avatar-server/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GenericNack, RtcpTransportLayerFeedback, type RtpPacket } from 'werift';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * The direct send path (webrtc/AvatarPeer.ts createFastPath, rtpHistory.ts, iceSend.ts) seen from
 * a real werift receiver: packets lost on the way are sent again, byte for byte, when asked.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

it('a NACK is answered from the history: the same packets again, with their sequence numbers', async () => {
  const client = new WhepTestClient();
  try {
    await client.connect(`${server.url}/whep/avatars/default`);
    await client.waitForFrames(10);
    const [transceiver] = client.pc.getTransceivers();
    const track = transceiver!.receiver.tracks[0]!;
    const seen: RtpPacket[] = [];
    track.onReceiveRtp.subscribe((rtp) => seen.push(rtp));
    await waitFor(() => seen.length >= 20, { what: '20 more packets' });
    const asked = [seen[3]!, seen[7]!, seen[12]!];
    const payloads = new Map(asked.map((p) => [p.header.sequenceNumber, p.payload]));
    const count = seen.length;
    const nack = new RtcpTransportLayerFeedback({
      feedback: new GenericNack({
        senderSsrc: 1,
        mediaSourceSsrc: asked[0]!.header.ssrc,
        lost: [...payloads.keys()],
      }),
    });
    await transceiver!.receiver.dtlsTransport.sendRtcp([nack]);
    const again = await waitFor(
      () => {
        const resent = seen.slice(count).filter((p) => payloads.has(p.header.sequenceNumber));
        return resent.length === asked.length ? resent : undefined;
      },
      { what: 'the three packets sent again' },
    );
    for (const p of again) {
      const first = asked.find((a) => a.header.sequenceNumber === p.header.sequenceNumber)!;
      expect(p.payload.equals(payloads.get(p.header.sequenceNumber)!)).toBe(true);
      expect(p.header.timestamp).toBe(first.header.timestamp);
      expect(p.header.marker).toBe(first.header.marker);
    }
  } finally {
    await client.close();
  }
});

it('answers an offer that lets it choose (a=setup:actpass) as the DTLS server, and streams', async () => {
  const client = new WhepTestClient();
  try {
    const res = await client.connect(`${server.url}/whep/avatars/default`);
    expect(res.status).toBe(201);
    expect(client.pc.localDescription!.sdp).toMatch(/^a=setup:actpass/m);
    // The browser (here werift) starts the handshake; werift's own client would wait 100 ms.
    expect(client.answer).toMatch(/^a=setup:passive/m);
    expect(client.answer).not.toMatch(/^a=setup:active/m);
    await client.waitForFrames(5);
  } finally {
    await client.close();
  }
});
