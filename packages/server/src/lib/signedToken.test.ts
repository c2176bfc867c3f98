import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from './signedToken.js';

const SECRET = 'a-test-secret-of-at-least-32-chars!';
const NOW = Date.UTC(2026, 0, 1);

describe('signed tokens', () => {
  it('round-trips avatars and expiry', () => {
    const token = mintToken(SECRET, { avatar: 'jesus', ttlSeconds: 60 }, NOW);
    expect(token).toMatch(/^ast1\.[\w-]+\.[\w-]+$/);
    expect(verifyToken(SECRET, token, NOW)).toEqual({ ok: true, avatars: ['jesus'] });
    const any = mintToken(SECRET, { exp: NOW / 1000 + 5 });
    expect(verifyToken(SECRET, any, NOW)).toEqual({ ok: true, avatars: undefined });
    const two = mintToken(SECRET, { avatar: ['a', 'b'] }, NOW);
    expect(verifyToken(SECRET, two, NOW)).toEqual({ ok: true, avatars: ['a', 'b'] });
  });

  it('refuses expired, forged, altered and malformed tokens', () => {
    const token = mintToken(SECRET, { avatar: 'jesus', ttlSeconds: 60 }, NOW);
    expect(verifyToken(SECRET, token, NOW + 60_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(`${SECRET}x`, token, NOW).ok).toBe(false);
    const [prefix, , signature] = token.split('.');
    const other = Buffer.from(JSON.stringify({ exp: NOW / 1000 + 9999 })).toString('base64url');
    expect(verifyToken(SECRET, `${prefix}.${other}.${signature}`, NOW)).toEqual({
      ok: false,
      reason: 'signature',
    });
    for (const bad of ['', 'ast1', 'ast1..', 'x.y.z', `${token}.x`, 'static-token']) {
      expect(verifyToken(SECRET, bad, NOW).ok).toBe(false);
    }
  });

  it('needs a secret of 32 characters or more', () => {
    expect(() => mintToken('short', {})).toThrow(/32/);
  });
});
