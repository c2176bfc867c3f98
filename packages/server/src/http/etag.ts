import type { Request } from 'express';
import { AvatarServerError } from '../lib/errors.js';
import type { Session } from '../session/Session.js';

/**
 * WHEP ETags (draft-ietf-wish-whep §4.4.1): the 201 carries a strong ETag for the session's ICE
 * state; a PATCH may send it back in If-Match. Players often omit it or send a stale one
 * (docs/whep.md, pitfall 3), so checking is opt-in (config `strictEtags`): then a missing
 * If-Match is 428 and a stale one 412; `*` always matches. DELETE ignores ETags.
 */
const etags = new WeakMap<Session, string>();

export function newEtag(session: Session, random: string): string {
  const tag = `"${random}"`;
  etags.set(session, tag);
  return tag;
}

export function checkIfMatch(req: Request, session: Session, strict: boolean) {
  if (!strict) return;
  const given = req.get('if-match');
  if (given === undefined || given.trim() === '') {
    throw new AvatarServerError(
      'precondition_required',
      'send If-Match with the ETag of the session (from the 201), or If-Match: *',
    );
  }
  const current = etags.get(session);
  const tags = given.split(',').map((t) => t.trim());
  if (tags.includes('*') || (current !== undefined && tags.includes(current))) return;
  throw new AvatarServerError(
    'precondition_failed',
    `If-Match ${given} does not match the session's ETag ${current ?? '(none)'}`,
  );
}
