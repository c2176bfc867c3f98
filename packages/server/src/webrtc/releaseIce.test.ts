import { connectedIcePair, waitFor } from '@avatar-server/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from 'werift';
import { iceSend } from './iceSend.js';
import { releaseIceConnection } from './releaseIce.js';

/**
 * releaseIce.ts against werift's real ICE agents: two `Connection`s on loopback and the network
 * interface, connected by werift's own checks (one socket per address, several pairs). The
 * consent checks after the release are covered with a whole peer in
 * test/releaseAfterConnect.int.test.ts (werift sends one every 4–6 s).
 */

const open: Connection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

type Internals = {
  protocols: Array<{ transport: { closed?: boolean } }>;
  localCandidates: unknown[];
  checkList: Array<{ protocol: unknown; noteIncomingRequest(id: string): boolean }>;
  nominated: { protocol: unknown; noteIncomingRequest(id: string): boolean };
};

describe('releaseIceConnection', () => {
  it('closes every socket but the nominated pair’s, and the direct send still delivers', async () => {
    const { controlling, controlled } = await connectedIcePair(['127.0.0.1']);
    open.push(controlling, controlled);
    const c = controlled as unknown as Internals;
    const sockets = [...c.protocols];
    const closed = releaseIceConnection(controlled);
    expect(closed).toBe(sockets.length - 1);
    expect(c.protocols).toEqual([c.nominated.protocol]);
    expect(c.localCandidates).toHaveLength(1);
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
    expect(releaseIceConnection(controlled)).toBe(0); // again: nothing left to close
  });

  it('bounds the record of incoming checks, still telling a retransmission', async () => {
    const { controlling, controlled } = await connectedIcePair(['127.0.0.1']);
    open.push(controlling, controlled);
    releaseIceConnection(controlled);
    const pair = (controlled as unknown as Internals).nominated as unknown as {
      noteIncomingRequest(id: string): boolean;
      requestTransactionIds: Set<string>;
    };
    for (let i = 0; i < 100; i++) expect(pair.noteIncomingRequest(`id ${i}`)).toBe(false);
    expect(pair.requestTransactionIds.size).toBe(16);
    expect(pair.noteIncomingRequest('id 99')).toBe(true);
  });
});
