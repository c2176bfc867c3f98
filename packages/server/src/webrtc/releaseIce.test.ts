import { connectedIcePair } from '@avatar-server/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from 'werift';
import { releaseIceConnection } from './releaseIce.js';

/**
 * releaseIce.ts against werift's real ICE agents: two `Connection`s on loopback and the network
 * interface, connected by werift's own checks (one socket per address, several pairs). The
 * consent checks of a whole slimmed peer are tested in test/releaseAfterConnect.int.test.ts.
 */

const open: Connection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

type Pair = {
  localCandidate: unknown;
  remoteAddr: [string, number];
  protocol: {
    request(message: unknown, addr: unknown, key: Buffer, options: object): Promise<unknown>;
  };
  noteIncomingRequest(id: string): boolean;
  requestTransactionIds: { size: number };
};
type Internals = {
  protocols: unknown[];
  nominated: Pair;
  localUsername: string;
  remoteUsername: string;
  remotePassword: string;
  iceControlling: boolean;
  buildRequest(options: object): { getAttributeValue(name: string): unknown };
};

/** A consent request as werift's consent loop makes it, on the nominated pair; its integrity. */
async function consentRequest(c: Internals): Promise<Buffer> {
  const pair = c.nominated;
  const request = c.buildRequest({
    nominate: false,
    localUsername: c.localUsername,
    remoteUsername: c.remoteUsername,
    iceControlling: c.iceControlling,
    localCandidate: pair.localCandidate,
  });
  await pair.protocol.request(request, pair.remoteAddr, Buffer.from(c.remotePassword, 'utf8'), {
    retransmissions: 0,
    responseTimeout: 5000,
  });
  return request.getAttributeValue('MESSAGE-INTEGRITY') as Buffer;
}

describe('releaseIceConnection', () => {
  it('gives consent requests an integrity Buffer of their own (no 8 KB pool slab), still answered', async () => {
    const { controlling, controlled } = await connectedIcePair(['127.0.0.1']);
    open.push(controlling, controlled);
    const c = controlled as unknown as Internals;
    const before = await consentRequest(c);
    expect(before.buffer.byteLength).toBe(Buffer.poolSize); // werift's own: a pool slice
    const sockets = c.protocols.length;
    expect(releaseIceConnection(controlled)).toBeGreaterThanOrEqual(1);
    // The answer resolved the request: the copy is the same integrity.
    const after = await consentRequest(c);
    expect(after).toHaveLength(20);
    expect(after.buffer.byteLength).toBe(20);
    // Every socket stays open: a browser may send through another of them.
    expect(c.protocols).toHaveLength(sockets);
  });

  it('bounds the record of incoming checks, still telling a retransmission', async () => {
    const { controlling, controlled } = await connectedIcePair(['127.0.0.1']);
    open.push(controlling, controlled);
    releaseIceConnection(controlled);
    const pair = (controlled as unknown as Internals).nominated;
    for (let i = 0; i < 100; i++) expect(pair.noteIncomingRequest(`id ${i}`)).toBe(false);
    expect(pair.requestTransactionIds.size).toBe(4);
    expect(pair.noteIncomingRequest('id 99')).toBe(true);
  });
});
