import { connectedIcePair, waitFor } from '@avatar-server/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from 'werift';
import { iceSend } from './iceSend.js';
import { closeQuietSockets, releaseIceConnection } from './releaseIce.js';

/**
 * releaseIce.ts against werift's real ICE agents: two `Connection`s on loopback and the network
 * interface, connected by werift's own checks (one socket per address, several pairs). The
 * consent checks of a whole slimmed peer are tested in test/releaseAfterConnect.int.test.ts.
 */

const open: Connection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

type Protocol = {
  transport: { closed?: boolean };
  localCandidate: { host: string; port: number };
  request(message: unknown, addr: unknown, key: Buffer, options: object): Promise<unknown>;
};
type Pair = {
  localCandidate: unknown;
  remoteCandidate: { host: string; port: number };
  remoteAddr: [string, number];
  protocol: Protocol;
  noteIncomingRequest(id: string): boolean;
  requestTransactionIds: { size: number };
};
type Internals = {
  protocols: Protocol[];
  checkList: Pair[];
  nominated: Pair;
  localUsername: string;
  remoteUsername: string;
  remotePassword: string;
  iceControlling: boolean;
  buildRequest(options: object): { getAttributeValue(name: string): unknown };
};

/** A consent request as werift's consent loop makes it (on `pair`); its integrity. */
async function consentRequest(c: Internals, pair = c.nominated): Promise<Buffer> {
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

  it('closes the other sockets once their pairs hear no check, and the direct send still delivers', async () => {
    const { controlling, controlled } = await connectedIcePair(['127.0.0.1']);
    open.push(controlling, controlled);
    const c = controlled as unknown as Internals;
    const sockets = [...c.protocols];
    const closed = await new Promise<number>((done) =>
      closeQuietSockets(controlled, done, { quietMs: 300 }),
    );
    expect(closed).toBe(sockets.length - 1);
    expect(c.protocols).toEqual([c.nominated.protocol]);
    expect(c.checkList.every((pair) => pair.protocol === c.nominated.protocol)).toBe(true);
    await waitFor(
      () => sockets.every((p) => p === c.nominated.protocol || p.transport.closed === true),
      { what: 'the unused sockets to close' },
    );
    const received: string[] = [];
    controlling.onData.subscribe((data) => received.push(data.toString()));
    const send = iceSend(controlled as never, (err) => {
      throw err;
    });
    for (let i = 0; i < 10; i++) send(Buffer.from(`packet ${i}`));
    await waitFor(() => received.length === 10, { what: '10 packets' });
  });

  it('keeps a socket the other side still checks', async () => {
    const { controlling, controlled } = await connectedIcePair(['127.0.0.1']);
    open.push(controlling, controlled);
    const c = controlled as unknown as Internals;
    const sockets = c.protocols.length;
    const other = c.protocols.find((p) => p !== c.nominated.protocol);
    expect(other, 'a second host address (the network interface)').toBeDefined();
    // The other side's pair to that socket, checked every 100 ms as a browser checks a pair it
    // may select (werift's own STUN requests, answered by the controlled agent).
    const pair = (controlling as unknown as Internals).checkList.find(
      (p) =>
        p.remoteCandidate.host === other!.localCandidate.host &&
        p.remoteCandidate.port === other!.localCandidate.port,
    )!;
    expect(pair).toBeDefined();
    const checks = setInterval(() => {
      consentRequest(controlling as unknown as Internals, pair).catch(() => {});
    }, 100);
    try {
      const closed = await new Promise<number>((done) =>
        closeQuietSockets(controlled, done, { quietMs: 400, tries: 3 }),
      );
      // Only the sockets nobody checks (none besides `other` on a two-address machine).
      expect(closed).toBe(sockets - 2);
      expect(c.protocols).toContain(other);
      expect(other?.transport.closed).not.toBe(true);
    } finally {
      clearInterval(checks);
    }
  });
});
