import type { Request } from 'express';

/**
 * Absolute URLs for a session: players resolve relative `Location`s differently and root-relative
 * ones break behind prefix proxies, so we always send absolute ones (docs/whep.md, pitfall 2).
 */
export function baseUrl(req: Request, publicBaseUrl: string | undefined): string {
  // req.baseUrl is where an embedding app mounted our router (createAvatarRouter), e.g. /api/avatar.
  if (publicBaseUrl) return `${publicBaseUrl.replace(/\/+$/, '')}${req.baseUrl}`;
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

export function sessionUrl(base: string, sessionId: string) {
  return `${base}/whep/sessions/${sessionId}`;
}
