import type { ErrorRequestHandler, Request, Response } from 'express';
import { AvatarServerError, type ErrorCode } from '../lib/errors.js';

/** HTTP status of each error code (RFC 9457 problem details carry the rest). */
const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unparsable_sdp: 400,
  avatar_not_found: 404,
  session_not_found: 404,
  video_not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  precondition_failed: 412,
  precondition_required: 428,
  path_not_allowed: 403,
  session_state: 409,
  ai_not_available: 422,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  bad_content_type: 415,
  unusable_offer: 422,
  internal: 500,
  avatar_not_ready: 503,
  avatar_failed: 503,
  server_busy: 503,
  too_many_candidates: 422,
  operator_only: 403,
  bad_host: 400,
  server_draining: 503,
  unsupported_audio: 415,
  unreadable_audio: 422,
  audio_stalled: 408,
  not_configured: 501,
};

const TITLE: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  unparsable_sdp: 'Unparsable SDP offer',
  avatar_not_found: 'Avatar not found',
  session_not_found: 'Session not found',
  video_not_found: 'Video not found',
  unauthorized: 'Unauthorized',
  forbidden: 'Token not valid for this avatar',
  rate_limited: 'Too many requests',
  precondition_failed: 'Stale ETag',
  precondition_required: 'If-Match required',
  path_not_allowed: 'Path not allowed',
  session_state: 'Session in the wrong state',
  ai_not_available: 'No frame processor configured',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'Payload too large',
  bad_content_type: 'Unsupported media type',
  unusable_offer: 'Offer cannot be satisfied',
  internal: 'Internal server error',
  avatar_not_ready: 'Avatar not ready',
  avatar_failed: 'Avatar unavailable',
  server_busy: 'Server busy',
  too_many_candidates: 'Too many ICE candidates',
  operator_only: 'For operators only',
  bad_host: 'Host not allowed',
  server_draining: 'Server shutting down',
  unsupported_audio: 'Unsupported audio type',
  unreadable_audio: 'Not readable as audio',
  audio_stalled: 'Audio stream stalled',
  not_configured: 'Not configured',
};

export function sendProblem(req: Request, res: Response, err: AvatarServerError) {
  const status = STATUS[err.code];
  if (err.extra.retryAfterSeconds !== undefined)
    res.set('Retry-After', String(err.extra.retryAfterSeconds));
  if (err.extra.allow) res.set('Allow', err.extra.allow.join(', '));
  if (err.code === 'unauthorized') res.set('WWW-Authenticate', 'Bearer');
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `urn:avatar-server:problem:${err.code}`,
        title: TITLE[err.code],
        status,
        detail: err.message,
        instance: req.originalUrl,
        // RFC 9457 extension members: a compiling avatar's progress, for a "preparing" display.
        ...(err.extra.progress !== undefined ? { progress: err.extra.progress } : {}),
        ...(err.extra.etaSeconds !== undefined ? { etaSeconds: err.extra.etaSeconds } : {}),
      }),
    );
}

/** Errors thrown by express's own body parsers, turned into our codes. */
function fromExpress(err: { type?: string; status?: number; message: string }): AvatarServerError {
  if (err.type === 'entity.too.large') {
    return new AvatarServerError('payload_too_large', 'the request body is larger than 128 KiB');
  }
  if (err.type === 'entity.parse.failed') {
    return new AvatarServerError('bad_request', `the body is not valid JSON (${err.message})`);
  }
  if (err.status && err.status >= 400 && err.status < 500) {
    return new AvatarServerError('bad_request', err.message);
  }
  return new AvatarServerError('internal', 'the server failed to handle this request; see its log');
}

/** The last middleware: every error becomes application/problem+json, and 5xx are logged. */
export function problemHandler(log: (err: unknown, req: Request) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const problem = err instanceof AvatarServerError ? err : fromExpress(err);
    if (problem.code === 'internal') log(err, req);
    sendProblem(req, res, problem);
  };
}
