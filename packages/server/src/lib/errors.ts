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
  | 'internal';

/** An error with a code and a message meant for the API user (it becomes the problem's detail). */
export class AvatarServerError extends Error {
  override name = 'AvatarServerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { retryAfterSeconds?: number; allow?: string[] } = {},
  ) {
    super(message);
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
