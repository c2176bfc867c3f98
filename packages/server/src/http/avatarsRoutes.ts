import express, { type Request, type Router } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import type { AvatarCatalog, AvatarState } from '../media/AvatarCatalog.js';

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * One avatar as anyone sees it: its id, state and, while compiling, how far it is (a page shows
 * "Preparing… N %"); compile errors, paths and scores are for operators.
 */
export function publicAvatar(state: AvatarState) {
  if (state.state === 'compiling') return compilingView(state);
  return { id: state.id, state: state.state };
}

/**
 * One avatar as an operator sees it at `GET /avatars`: state, size, frame rate, frames and
 * naturalness scores, warnings, or why it failed.
 */
export function describeAvatar(state: AvatarState) {
  if (state.state === 'compiling') return compilingView(state);
  if (state.state === 'failed') return { id: state.id, state: state.state, error: state.error };
  const { analysis } = state;
  return {
    id: state.id,
    state: state.state,
    size: state.avatar.size,
    fps: state.avatar.fps,
    frames: state.frames,
    sizeMb: round(state.bytes / 1e6),
    scores: {
      seamRatio: {
        idle: round(analysis.seams.idle.ratio),
        speaking: round(analysis.seams.speaking.ratio),
      },
      cutRatio: {
        idleToSpeaking: round(analysis.cuts.idle.medianRatio),
        speakingToIdle: round(analysis.cuts.speaking.medianRatio),
      },
      naiveCutRatio: {
        idleToSpeaking: round(analysis.cuts.idle.naiveMedianRatio),
        speakingToIdle: round(analysis.cuts.speaking.naiveMedianRatio),
      },
    },
    loops: {
      idle: { start: analysis.seams.idle.start, end: analysis.seams.idle.end },
      speaking: { start: analysis.seams.speaking.start, end: analysis.seams.speaking.end },
    },
    warnings: analysis.warnings,
  };
}

/** A compiling avatar: how far its compile is (0–1) and, once known, the seconds left. */
export function compilingView(state: Extract<AvatarState, { state: 'compiling' }>) {
  return {
    id: state.id,
    state: state.state,
    progress: Math.round(state.progress * 1000) / 1000,
    ...(state.etaSeconds !== undefined ? { etaSeconds: state.etaSeconds } : {}),
  };
}

/**
 * `GET /avatars` and `GET /avatars/:id`: which avatars exist and how each one is doing; the
 * details only for operators (`isOperator`, http/operatorAccess.ts).
 */
export function avatarsRoutes(
  catalog: AvatarCatalog,
  isOperator: (req: Request) => boolean,
): Router {
  const router = express.Router();
  const describe = (req: Request) => (isOperator(req) ? describeAvatar : publicAvatar);
  router.get('/avatars', (req, res) => {
    res.json(catalog.list().map(describe(req)));
  });
  router.get('/avatars/:avatarId', (req, res) => {
    const state = catalog.get(String(req.params.avatarId));
    if (!state) {
      throw AvatarServerError.avatarNotFound(
        String(req.params.avatarId),
        catalog.list().map((a) => a.id),
      );
    }
    res.json(describe(req)(state));
  });
  return router;
}
