import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchLiveness } from '../src/liveness.js';

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
