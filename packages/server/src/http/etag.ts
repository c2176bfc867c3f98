import type { Request } from 'express';
import { AvatarServerError } from '../lib/errors.js';

/**
 * WHEP ETags (draft-ietf-wish-whep §4.4.1): the 201 carries a strong ETag for the session's ICE
 * state; a PATCH may send it back in If-Match. Players often omit it or send a stale one
 * (docs/whep.md, pitfall 3), so checking is opt-in (config `strictEtags`): then a missing
 * If-Match is 428 and a stale one 412; `*` always matches. DELETE ignores ETags.
 */
export function newEtag(random: string): string {
  return `"${random}"`;
}

/** `current`: the ETag of the session's 201 (its media worker keeps it with the session). */
export function checkIfMatch(req: Request, current: string | undefined, strict: boolean) {
  if (!strict) return;
  const given = req.get('if-match');
  if (given === undefined || given.trim() === '') {
    throw new AvatarServerError(
      'precondition_required',
      'send If-Match with the ETag of the session (from the 201), or If-Match: *',
    );
  }
  const tags = given.split(',').map((t) => t.trim());
  if (tags.includes('*') || (current !== undefined && tags.includes(current))) return;
  throw new AvatarServerError(
    'precondition_failed',
    `If-Match ${given} does not match the session's ETag ${current ?? '(none)'}`,
  );
}
