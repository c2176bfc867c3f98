import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AvatarState } from '../media/AvatarCatalog.js';
import type { SessionRegistry } from '../session/SessionRegistry.js';

export type Metrics = {
  /** The Prometheus registry served at `GET /metrics`. */
  register: Registry;
  /** Feed for the compile-duration histogram (the catalog's `onCompiled`). */
  compiled(state: AvatarState): void;
};

/**
 * Prometheus metrics (prom-client). Sessions and switches are counted from registry events; the
 * packet-path counters (frames, bytes) are read from the registry's totals at scrape time, so the
 * 25 Hz send loop carries no metrics code. One Registry per server, so that several servers (tests,
 * embedders) in one process do not collide.
 */
export function createMetrics(opts: {
  registry: SessionRegistry;
  avatars: () => AvatarState[];
}): Metrics {
  const register = new Registry();
  collectDefaultMetrics({ register });
  const { registry } = opts;

  new Gauge({
    name: 'avatar_sessions',
    help: 'Sessions open now (WHEP and /streams)',
    registers: [register],
    collect() {
      this.set(registry.size);
    },
  });
  const created = new Counter({
    name: 'avatar_sessions_created_total',
    help: 'Sessions opened since the start',
    registers: [register],
  });
  const ended = new Counter({
    name: 'avatar_sessions_ended_total',
    help: 'Sessions ended since the start',
    registers: [register],
  });
  const switches = new Counter({
    name: 'avatar_switches_total',
    help: 'Speaking changes that took effect, by the loop switched to',
    labelNames: ['loop'],
    registers: [register],
  });
  const switchLatency = new Histogram({
    name: 'avatar_switch_latency_seconds',
    help: 'From a speaking request reaching its session to the first packet of the new loop',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16],
    registers: [register],
  });
  registry.observe({
    added: () => created.inc(),
    closed: () => ended.inc(),
    switched: (_session, change) => {
      switches.inc({ loop: change.loop });
      switchLatency.observe(change.latencyMs / 1000);
    },
  });

  /** A counter whose value lives elsewhere: it advances by the difference at each scrape. */
  const mirrored = (name: string, help: string, read: () => number) => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [register],
      collect() {
        const now = read();
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  mirrored('avatar_frames_sent_total', 'Video frames sent to viewers', () => {
    return registry.totals().framesSent;
  });
  mirrored(
    'avatar_frames_late_total',
    'Frames whose send slice started more than a third of a period after it was due (tick + slice offset)',
    () => registry.lateFrames,
  );
  mirrored('avatar_bytes_sent_total', 'H.264 payload bytes sent to viewers', () => {
    return registry.totals().bytesSent;
  });
  mirrored('avatar_packets_sent_total', 'RTP packets sent to viewers', () => {
    return registry.totals().packetsSent;
  });
  mirrored('avatar_keyframe_requests_total', 'PLI received from viewers', () => {
    return registry.totals().keyframeRequests;
  });

  new Gauge({
    name: 'avatar_avatars',
    help: 'Avatars by compile state',
    labelNames: ['state'],
    registers: [register],
    collect() {
      const counts = { compiling: 0, ready: 0, failed: 0 };
      for (const a of opts.avatars()) counts[a.state]++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  const compileSeconds = new Histogram({
    name: 'avatar_compile_duration_seconds',
    help: 'Time to compile an avatar (or load it from the cache)',
    labelNames: ['source'],
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600],
    registers: [register],
  });

  return {
    register,
    compiled(state) {
      if (state.state !== 'ready') return;
      compileSeconds.observe(
        { source: state.fromCache ? 'cache' : 'compile' },
        state.compileMs / 1000,
      );
    },
  };
}
