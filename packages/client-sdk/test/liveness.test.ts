import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchLiveness, watchPeer } from '../src/liveness.js';

describe('watchLiveness', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A receiver whose byte counter the test moves, and a liveness watch on it. */
  function setup(stallMs = 4000) {
    const peer = { bytes: 0, connected: true, stalls: 0 };
    const watch = watchLiveness(
      async () => peer.bytes,
      () => peer.connected,
      () => {
        peer.stalls++;
        peer.connected = false; // as the SDK does: a stall ends the connection
      },
      stallMs,
    );
    return { peer, watch };
  }

  it('stays quiet while bytes keep arriving, however long', async () => {
    const { peer, watch } = setup();
    for (let s = 0; s < 30; s++) {
      peer.bytes += 5000;
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(peer.stalls).toBe(0);
    watch.stop();
  });

  it('reports a stall once bytes stop growing for longer than stallMs, once', async () => {
    const { peer, watch } = setup();
    peer.bytes = 10_000;
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(4000);
    expect(peer.stalls).toBe(0); // 4 s without progress is not yet more than 4 s
    await vi.advanceTimersByTimeAsync(1000);
    expect(peer.stalls).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(peer.stalls).toBe(1);
    watch.stop();
  });

  it('does not judge a connection it is not asked to watch (connecting, reconnecting)', async () => {
    const { peer, watch } = setup();
    peer.connected = false;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(peer.stalls).toBe(0);
    watch.stop();
  });

  it('gives a new connection a fresh start: its counter begins at 0', async () => {
    const { peer, watch } = setup();
    peer.bytes = 1_000_000;
    await vi.advanceTimersByTimeAsync(1000);
    // Reconnected: the new peer has received fewer bytes than the old one had.
    peer.bytes = 2000;
    watch.restart();
    for (let s = 0; s < 8; s++) {
      peer.bytes += 2000;
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(peer.stalls).toBe(0);
    watch.stop();
  });

  it('stops checking once stopped', async () => {
    const { peer, watch } = setup();
    watch.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(peer.stalls).toBe(0);
  });
});

describe('watchPeer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The two objects' events, as a browser fires them. */
  function setup() {
    const pc = Object.assign(new EventTarget(), {
      connectionState: 'connected' as RTCPeerConnectionState,
    });
    const dc = new EventTarget();
    const lost = vi.fn();
    watchPeer(pc, dc, lost);
    const become = (state: RTCPeerConnectionState) => {
      pc.connectionState = state;
      pc.dispatchEvent(new Event('connectionstatechange'));
    };
    return { become, dc, lost };
  }

  it('a failed connection is lost at once', () => {
    const { become, lost } = setup();
    become('failed');
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('a disconnected one gets 2 s to recover by itself', async () => {
    const { become, lost } = setup();
    become('disconnected');
    await vi.advanceTimersByTimeAsync(1500);
    become('connected');
    await vi.advanceTimersByTimeAsync(5000);
    expect(lost).not.toHaveBeenCalled();
    become('disconnected');
    await vi.advanceTimersByTimeAsync(1999);
    expect(lost).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('a closed control channel (the server ended the session) is lost', () => {
    const { dc, lost } = setup();
    dc.dispatchEvent(new Event('close'));
    expect(lost).toHaveBeenCalledTimes(1);
  });
});
