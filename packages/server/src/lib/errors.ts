/** What went wrong, independent of transport; http/problem.ts maps each code to a status. */
export type ErrorCode =
  | 'bad_request'
  | 'bad_content_type'
  | 'unparsable_sdp'
  | 'unusable_offer'
  | 'avatar_not_found'
  | 'avatar_not_ready'
  | 'avatar_failed'
  | 'session_not_found'
  | 'session_state'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'precondition_failed'
  | 'precondition_required'
  | 'path_not_allowed'
  | 'video_not_found'
  | 'ai_not_available'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'server_busy'
  | 'too_many_candidates'
  | 'operator_only'
  | 'bad_host'
  | 'server_draining'
  | 'unsupported_audio'
  | 'unreadable_audio'
  | 'audio_stalled'
  | 'not_configured'
  | 'internal';

/** Seconds a client should wait before asking again for an avatar that is still compiling. */
export const COMPILING_RETRY_AFTER_S = 5;

/** An error with a code and a message meant for the API user (it becomes the problem's detail). */
export class AvatarServerError extends Error {
  override name = 'AvatarServerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: {
      retryAfterSeconds?: number;
      allow?: string[];
      /** A compiling avatar's progress (0–1) and seconds left: extension members of the problem. */
      progress?: number;
      etaSeconds?: number | undefined;
    } = {},
  ) {
    super(message);
  }

  /**
   * 503 for an avatar still compiling, carrying how far it is so a page can show it without
   * asking again; Retry-After is the time left when known (1–5 s), else 5 s.
   */
  static avatarCompiling(
    id: string,
    compile: { progress: number; etaSeconds?: number | undefined },
  ) {
    const percent = Math.floor(compile.progress * 100);
    const left = compile.etaSeconds !== undefined ? `, about ${compile.etaSeconds} s left` : '';
    return new AvatarServerError(
      'avatar_not_ready',
      `avatar '${id}' is still compiling (${percent} %${left}); retry shortly`,
      {
        retryAfterSeconds:
          compile.etaSeconds !== undefined
            ? Math.min(COMPILING_RETRY_AFTER_S, Math.max(1, compile.etaSeconds))
            : COMPILING_RETRY_AFTER_S,
        progress: Math.round(compile.progress * 1000) / 1000,
        etaSeconds: compile.etaSeconds,
      },
    );
  }

  static avatarNotFound(id: string, known: string[]) {
    const list = known.length ? `known avatars: ${known.join(', ')}` : 'no avatars were found';
    return new AvatarServerError('avatar_not_found', `no avatar '${id}' (${list})`);
  }

  static sessionNotFound(id: string) {
    return new AvatarServerError(
      'session_not_found',
      `no session '${id}' (it ended or never existed)`,
    );
  }
}
