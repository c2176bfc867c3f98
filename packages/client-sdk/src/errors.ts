/** Why an avatar operation failed. */
export type AvatarErrorReason =
  | 'bad-request'
  | 'unauthorized'
  | 'not-found'
  | 'not-acceptable'
  | 'unavailable'
  | 'server'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'closed'
  /** The options passed to createAvatar are wrong (e.g. `video: null`); `message` says which. */
  | 'invalid-options'
  /** No DOM or no WebRTC here (server-side rendering, an old browser). */
  | 'unsupported'
  /** The browser and the server could not agree on the media (an SDP step failed). */
  | 'negotiation';

/**
 * Problem details as the server sends them (RFC 9457); a 503 during a first compile adds how far
 * it is (`progress`, 0–1) and, when known, the seconds left (`etaSeconds`).
 */
export type Problem = {
  type?: string | undefined;
  title?: string | undefined;
  status?: number | undefined;
  detail?: string | undefined;
  progress?: number | undefined;
  etaSeconds?: number | undefined;
};

/** Every error the SDK throws or emits; `reason` is stable, `message` is for people. */
export class AvatarError extends Error {
  override name = 'AvatarError';
  constructor(
    readonly reason: AvatarErrorReason,
    message: string,
    readonly status?: number,
    readonly problem?: Problem,
  ) {
    super(message);
  }

  /** Builds the error for an HTTP status and the server's problem+json body (if any). */
  static fromProblem(status: number, problem: Problem = {}): AvatarError {
    const reason: AvatarErrorReason =
      status === 401 || status === 403
        ? 'unauthorized'
        : status === 404
          ? 'not-found'
          : status === 406 || status === 415 || status === 422
            ? 'not-acceptable'
            : status === 429 || status === 503
              ? 'unavailable'
              : status < 500
                ? 'bad-request'
                : 'server';
    return new AvatarError(
      reason,
      problem.detail ?? problem.title ?? `HTTP ${status}`,
      status,
      problem,
    );
  }
}

/** An AvatarError as is; anything else (a TypeError from fetch, a DOMException) as `network`. */
export function asAvatarError(err: unknown): AvatarError {
  return err instanceof AvatarError
    ? err
    : new AvatarError('network', String((err as Error)?.message ?? err));
}
