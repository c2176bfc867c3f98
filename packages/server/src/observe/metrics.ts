import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AvatarState } from '../media/AvatarCatalog.js';
import type { MediaPool, WorkerReport } from '../workers/MediaPool.js';

export type Metrics = {
  /** The Prometheus registry served at `GET /metrics`. */
  register: Registry;
  /** Feed for the compile-duration histogram (the catalog's `onCompiled`). */
  compiled(state: AvatarState): void;
};

/**
 * Prometheus metrics (prom-client). Switches are counted from the media workers' events; the
 * packet-path counters (frames, bytes) are read from the workers' snapshots at scrape time (one
 * snapshot per scrape), so the 25 Hz send loop carries no metrics code. One Registry per server,
 * so that several servers (tests, embedders) in one process do not collide.
 */
export function createMetrics(opts: { media: MediaPool; avatars: () => AvatarState[] }): Metrics {
  const register = new Registry();
  collectDefaultMetrics({ register });
  const { media } = opts;
  // Every collect() of one scrape reads the same snapshot.
  let scrape: { at: number; workers: Promise<WorkerReport[]> } | undefined;
  const workers = () => {
    const now = performance.now();
    if (!scrape || now - scrape.at > 250) scrape = { at: now, workers: media.snapshot() };
    return scrape.workers;
  };
  const total = async (read: (w: WorkerReport) => number) =>
    (await workers()).reduce((n, w) => n + read(w), 0);

  new Gauge({
    name: 'avatar_sessions',
    help: 'Sessions open now (WHEP and /streams)',
    registers: [register],
    collect() {
      this.set(media.size);
    },
  });
  mirrored('avatar_sessions_created_total', 'Sessions opened since the start', async () => {
    return media.created;
  });
  mirrored('avatar_sessions_ended_total', 'Sessions ended since the start', async () => {
    return media.created - media.size;
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
  media.on('switched', (change) => {
    switches.inc({ loop: change.loop });
    // A switch the audio made answers no request: it has no latency to observe.
    if (!change.audio) switchLatency.observe(change.latencyMs / 1000);
  });
  const speech = new Counter({
    name: 'avatar_speech_events_total',
    help: "Speech events of the sessions' voices: start and end of utterances, queue drained, interrupted",
    labelNames: ['event'],
    registers: [register],
  });
  const audioSeconds = new Counter({
    name: 'avatar_audio_seconds_total',
    help: 'Seconds of audio played to viewers (utterances that ended or were interrupted)',
    registers: [register],
  });
  media.on('speech', (event, playedSeconds) => {
    speech.inc({ event });
    if (playedSeconds > 0) audioSeconds.inc(playedSeconds);
  });

  /** A counter whose value lives elsewhere: it advances by the difference at each scrape. */
  function mirrored(name: string, help: string, read: () => Promise<number>) {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [register],
      async collect() {
        const now = await read();
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  }
  mirrored('avatar_frames_sent_total', 'Video frames sent to viewers', () =>
    total((w) => w.totals.framesSent),
  );
  mirrored(
    'avatar_frames_late_total',
    'Frames whose send slice started more than a third of a period after it was due (tick + slice offset)',
    () => total((w) => w.lateFrames),
  );
  mirrored('avatar_bytes_sent_total', 'H.264 payload bytes sent to viewers', () =>
    total((w) => w.totals.bytesSent),
  );
  mirrored('avatar_packets_sent_total', 'RTP packets sent to viewers', () =>
    total((w) => w.totals.packetsSent),
  );
  mirrored('avatar_keyframe_requests_total', 'PLI received from viewers', () =>
    total((w) => w.totals.keyframeRequests),
  );

  // Each media worker on its own: a slow or pausing worker shows up by its index.
  const perWorker = (name: string, help: string, read: (w: WorkerReport) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: [register],
      async collect() {
        this.reset();
        for (const w of await workers()) this.set({ worker: String(w.index) }, read(w));
      },
    });
  perWorker(
    'avatar_worker_sessions',
    'Sessions open now on each media worker',
    (w) => w.sessions.length,
  );
  perWorker(
    'avatar_worker_frames_late',
    'Late frames of each media worker since it started',
    (w) => w.lateFrames,
  );
  perWorker(
    'avatar_worker_loop_delay_p99_seconds',
    'Event-loop delay of each media worker since it started, 99th percentile',
    (w) => w.loopDelayMs.p99 / 1000,
  );
  perWorker(
    'avatar_worker_gc_pause_seconds',
    'Garbage-collection pause time of each media worker since it started',
    (w) => w.gc.totalMs / 1000,
  );
  perWorker(
    'avatar_worker_restarts',
    'Times each media worker was restarted after it stopped',
    (w) => w.restarts,
  );

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
