import { connectedIcePair, waitFor } from '@avatar-server/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from 'werift';
import { type IceConnectionInternals, iceSend } from './iceSend.js';

/**
 * The direct send against werift's real ICE agents: two `Connection`s on this machine's host
 * addresses (loopback and the network interface), connected by werift's own checks, so several
 * candidate pairs succeed and one is nominated, as in a real session.
 */

const open: Connection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** Loopback as well as the network interface: two host candidates each, so several pairs. */
async function connectedPair() {
  const pair = await connectedIcePair(['127.0.0.1']);
  open.push(pair.controlling, pair.controlled);
  return pair;
}

const internals = (c: Connection) => c as unknown as IceConnectionInternals;

describe('iceSend: one socket send per packet on the nominated pair', () => {
  it('delivers every packet in order, and counts them on the pair as werift does', async () => {
    const { controlling, controlled } = await connectedPair();
    const received: string[] = [];
    controlling.onData.subscribe((data) => received.push(data.toString()));
    const failures: unknown[] = [];
    const send = iceSend(internals(controlled), (err) => failures.push(err));
    const pair = internals(controlled).nominated!;
    const before = pair.packetsSent;
    for (let i = 0; i < 50; i++) send(Buffer.from(`packet ${i}`));
    await waitFor(() => received.length === 50, { timeoutMs: 5000, what: '50 packets' });
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => `packet ${i}`));
    expect(pair.packetsSent - before).toBe(50);
    expect(failures).toEqual([]);
  });

  it('follows a change of the nominated pair mid-stream (as a renomination makes it)', async () => {
    const { controlling, controlled } = await connectedPair();
    const c = internals(controlled);
    const first = c.nominated!;
    // Another pair, from another local socket (werift prunes the other pairs' checks once one
    // is nominated, so whether its check finished is a race; on one machine every pair routes).
    const other = controlled.checkList.find((p) => p.protocol !== (first.protocol as unknown));
    if (!other) throw new Error('werift paired only one local address on this machine');
    const sources = new Set<string>();
    const received: string[] = [];
    // What the viewer's side sees: the bytes and the address they came from.
    const sockets = new Set(
      controlling.checkList.map(
        (pair) =>
          (pair.protocol as unknown as { transport: { socket: NodeJS.EventEmitter } }).transport
            .socket,
      ),
    );
    for (const socket of sockets) {
      socket.on('message', (data: Buffer, rinfo: { address: string; port: number }) => {
        if (data.toString().startsWith('packet ')) {
          received.push(data.toString());
          sources.add(`${rinfo.address}:${rinfo.port}`);
        }
      });
    }
    const send = iceSend(c, (err) => {
      throw err;
    });
    for (let i = 0; i < 10; i++) send(Buffer.from(`packet ${i}`));
    await waitFor(() => received.length === 10, { timeoutMs: 5000, what: 'the first 10' });
    // werift's checkComplete nominates by assigning the pair; a renomination does the same.
    (c as unknown as { nominated: unknown }).nominated = other;
    for (let i = 10; i < 20; i++) send(Buffer.from(`packet ${i}`));
    await waitFor(() => received.length === 20, { timeoutMs: 5000, what: 'the next 10' });
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => `packet ${i}`));
    // Both pairs carried packets: the send moved to the new pair's socket and address.
    expect(sources.size).toBe(2);
  });

  it('sends nothing once werift says application data may not be sent (RFC 7675 consent)', async () => {
    const { controlling, controlled } = await connectedPair();
    const received: string[] = [];
    controlling.onData.subscribe((data) => received.push(data.toString()));
    const send = iceSend(internals(controlled), () => {});
    send(Buffer.from('before'));
    await waitFor(() => received.length === 1, { timeoutMs: 5000, what: 'the first packet' });
    // The state werift sets when consent expires.
    (controlled as unknown as { consentFresh: boolean }).consentFresh = false;
    send(Buffer.from('after'));
    await controlled.close();
    send(Buffer.from('closed'));
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual(['before']);
  });
});
