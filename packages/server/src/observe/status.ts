import { basename } from 'node:path';
import type { AvatarCatalog } from '../media/AvatarCatalog.js';
import type { EncoderChoice } from '../media/chooseEncoder.js';
import { emptySessionStats } from '../session/Session.js';
import type { MediaPool } from '../workers/MediaPool.js';
import type { BitrateMeter } from './bitrate.js';

export type StatusSources = {
  version: string;
  startedAt: number;
  catalog: AvatarCatalog;
  media: MediaPool;
  encoder: EncoderChoice;
  ffmpeg: { path: string; source: string };
  bitrate: BitrateMeter;
  maxSessions: number;
  /** This node's id, the other nodes it knows and what it forwarded to them. */
  cluster?: {
    node: string;
    nodes: Array<{ id: string; url: string; source: string }>;
    forwards: { forwarded: number; failed: number; unknownNode: number };
  };
};

/**
 * `GET /status`: everything an operator checks with `curl | jq` — avatars and their compile
 * state, the encoder and whether NVENC worked, sessions, frames sent and late, bitrate, memory;
 * the media workers added up, and each one on its own (`workers`).
 */
export async function buildStatus(s: StatusSources) {
  const workers = await s.media.snapshot();
  const totals = emptySessionStats();
  for (const w of workers) {
    for (const key of Object.keys(totals) as Array<keyof typeof totals>) {
      totals[key] += w.totals[key];
    }
  }
  const sum = (read: (w: (typeof workers)[number]) => number) =>
    workers.reduce((n, w) => n + read(w), 0);
  const memory = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  const avatars = s.catalog.list().map((a) =>
    a.state === 'ready'
      ? {
          id: a.id,
          state: a.state,
          frames: a.frames,
          sizeMb: mb(a.bytes),
          compileMs: a.compileMs,
          fromCache: a.fromCache,
        }
      : a.state === 'failed'
        ? { id: a.id, state: a.state, error: a.error }
        : { id: a.id, state: a.state },
  );
  return {
    status: 'ok',
    version: s.version,
    uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
    ...(s.cluster ? { cluster: s.cluster } : {}),
    avatars,
    encoder: {
      kind: s.encoder.kind,
      nvencAvailable: s.encoder.nvencAvailable,
      reason: s.encoder.reason,
      // Which ffmpeg, not where: host paths stay out of public answers (the log has the path).
      ffmpeg: basename(s.ffmpeg.path),
      ffmpegSource: s.ffmpeg.source,
    },
    sessions: {
      active: sum((w) => w.sessions.length),
      max: s.maxSessions,
      created: s.media.created,
      list: workers
        .flatMap((w) => w.sessions)
        .map((session) => ({
          id: session.id,
          avatar: session.avatar,
          speaking: session.speaking,
          ageSeconds: Math.round((Date.now() - session.createdAt) / 1000),
          framesSent: session.stats.framesSent,
        })),
    },
    frames: {
      sent: totals.framesSent,
      late: sum((w) => w.lateFrames),
      lateTicks: sum((w) => w.lateTicks),
      ticks: sum((w) => w.ticks),
    },
    workers: workers.map((w) => ({
      index: w.index,
      sessions: w.sessions.length,
      restarts: w.restarts,
      framesSent: w.totals.framesSent,
      lateFrames: w.lateFrames,
      skippedTicks: w.skippedTicks,
      loopDelayMs: w.loopDelayMs,
      gc: w.gc,
      heapUsedMb: mb(w.heapUsedBytes),
    })),
    switches: totals.switches,
    bytesSent: totals.bytesSent,
    bitrateKbps: s.bitrate.kbps,
    memory: {
      rssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      externalMb: mb(memory.external),
      compiledAvatarsMb: mb(
        s.catalog.list().reduce((sum, a) => sum + (a.state === 'ready' ? a.bytes : 0), 0),
      ),
    },
  };
}

export type Status = Awaited<ReturnType<typeof buildStatus>>;
