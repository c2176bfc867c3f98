import type { Request } from 'express';
import { AvatarServerError } from '../lib/errors.js';

export type UrlPolicy = {
  /** Absolute base URL of the server as clients reach it (setting `publicBaseUrl`). */
  publicBaseUrl?: string | undefined;
  /** Host names the URLs may be built from without `publicBaseUrl`; empty: any well-formed. */
  allowedHosts: readonly string[];
};

/** A host name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const WELL_FORMED_HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Absolute URLs for a session: players resolve relative `Location`s differently and root-relative
 * ones break behind prefix proxies, so we always send absolute ones (docs/whep.md, pitfall 2). They are built from
 * `publicBaseUrl` when set; otherwise from the request's `Host`, which must be a plain host (no
 * path, query or credentials: `Host: evil.example/x?` is refused) and, with `allowedHosts` set,
 * one of those, and from the protocol, where only `http` and `https` are taken from a trusted
 * proxy's `X-Forwarded-Proto`.
 */
export function baseUrl(req: Request, policy: UrlPolicy): string {
  // req.baseUrl is where an embedding app mounted our router (createAvatarRouter), e.g. /api/avatar.
  if (policy.publicBaseUrl) return `${policy.publicBaseUrl.replace(/\/+$/, '')}${req.baseUrl}`;
  const host = req.get('host') ?? '';
  if (!WELL_FORMED_HOST.test(host)) {
    throw new AvatarServerError(
      'bad_host',
      'the Host header must be a host name with an optional port (or set publicBaseUrl)',
    );
  }
  const allowed = policy.allowedHosts;
  if (allowed.length > 0 && !allowed.some((h) => h.toLowerCase() === host.toLowerCase())) {
    throw new AvatarServerError(
      'bad_host',
      `this server answers for ${allowed.join(', ')} (setting allowedHosts), not '${host}'`,
    );
  }
  const protocol = req.protocol === 'https' ? 'https' : 'http';
  return `${protocol}://${host}${req.baseUrl}`;
}

export function sessionUrl(base: string, sessionId: string) {
  return `${base}/whep/sessions/${sessionId}`;
}
