import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived tokens a customer's backend mints for its users' browsers, so the static tokens
 * (config `tokens`) never leave the backend: `ast1.<payload>.<signature>`, where payload is the
 * base64url JSON of the claims and signature the base64url HMAC-SHA256, keyed with the configured
 * `tokenSecret`, of `ast1.<payload>`. Format and examples: docs/tokens.md.
 */
export type TokenClaims = {
  /** Avatar ids the token may open sessions for; absent: any avatar. */
  avatar?: string | string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
};

const PREFIX = 'ast1';

const sign = (secret: string, data: string) =>
  createHmac('sha256', secret).update(data).digest('base64url');

/**
 * A signed token for `claims`; give `exp` or `ttlSeconds` (default one hour). The server package
 * exports it for backends: `mintToken(secret, { avatar: 'jesus', ttlSeconds: 600 })`.
 */
export function mintToken(
  secret: string,
  claims: { avatar?: string | string[]; exp?: number; ttlSeconds?: number } = {},
  now = Date.now(),
): string {
  if (secret.length < 32) throw new Error('the token secret must be at least 32 characters');
  const exp = claims.exp ?? Math.floor(now / 1000) + (claims.ttlSeconds ?? 3600);
  const body: TokenClaims = {
    ...(claims.avatar !== undefined ? { avatar: claims.avatar } : {}),
    exp,
  };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${PREFIX}.${payload}.${sign(secret, `${PREFIX}.${payload}`)}`;
}

export type TokenCheck =
  | { ok: true; avatars: string[] | undefined }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

/** Checks a token's signature (in constant time) and expiry. */
export function verifyToken(secret: string, token: string, now = Date.now()): TokenCheck {
  const [prefix, payload, signature, extra] = token.split('.');
  if (prefix !== PREFIX || !payload || !signature || extra !== undefined) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = Buffer.from(sign(secret, `${PREFIX}.${payload}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'signature' };
  }
  let claims: Partial<TokenClaims>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims?.exp !== 'number') return { ok: false, reason: 'malformed' };
  if (claims.exp * 1000 <= now) return { ok: false, reason: 'expired' };
  const avatar = claims.avatar;
  if (avatar !== undefined && typeof avatar !== 'string' && !Array.isArray(avatar)) {
    return { ok: false, reason: 'malformed' };
  }
  return { ok: true, avatars: avatar === undefined ? undefined : [avatar].flat().map(String) };
}
