import { describe, expect, it } from 'vitest';
import {
  HEADER,
  identityProof,
  identityProofMatches,
  MAX_SKEW_MS,
  signRequest,
  verifyRequest,
} from './signature.js';

const SECRET = 'signature-secret-0123456789abcdefghij';
const what = { purpose: 'forward', method: 'PATCH', path: '/whep/sessions/b.w0-x' } as const;

describe('requests signed between nodes', () => {
  it('verify with the same secret, and give the sender and the client address', () => {
    const headers = signRequest(SECRET, 'node-a', what, '203.0.113.9');
    const signed = verifyRequest(SECRET, headers, what);
    expect(signed).toMatchObject({ node: 'node-a', client: '203.0.113.9' });
  });

  it('fail with another secret, another method, path or purpose, or an altered header', () => {
    const headers = signRequest(SECRET, 'node-a', what, '203.0.113.9');
    expect(verifyRequest('another-secret-0123456789abcdefghijk', headers, what)).toBeUndefined();
    expect(verifyRequest(SECRET, headers, { ...what, method: 'DELETE' })).toBeUndefined();
    expect(verifyRequest(SECRET, headers, { ...what, path: '/status' })).toBeUndefined();
    expect(verifyRequest(SECRET, headers, { ...what, purpose: 'identity' })).toBeUndefined();
    for (const [name, value] of [
      [HEADER.client, '198.51.100.1'],
      [HEADER.node, 'node-c'],
      [HEADER.time, String(Date.now() + 1)],
      [HEADER.signature, 'forged'],
    ]) {
      expect(verifyRequest(SECRET, { ...headers, [name!]: value }, what)).toBeUndefined();
    }
    expect(verifyRequest(undefined, headers, what)).toBeUndefined();
    expect(verifyRequest(SECRET, {}, what)).toBeUndefined();
  });

  it('are refused once older (or newer) than the allowed clock skew: replay is bounded', () => {
    const now = Date.now();
    const old = signRequest(SECRET, 'node-a', what, '', now - MAX_SKEW_MS - 1);
    expect(verifyRequest(SECRET, old, what, now)).toBeUndefined();
    const future = signRequest(SECRET, 'node-a', what, '', now + MAX_SKEW_MS + 1);
    expect(verifyRequest(SECRET, future, what, now)).toBeUndefined();
    const recent = signRequest(SECRET, 'node-a', what, '', now - MAX_SKEW_MS + 1000);
    expect(verifyRequest(SECRET, recent, what, now)).toBeDefined();
  });

  it('an identity answer proves the secret and is bound to the query it answers', () => {
    const proof = identityProof(SECRET, 'node-b', 'query-signature');
    expect(identityProofMatches(SECRET, 'node-b', 'query-signature', proof)).toBe(true);
    expect(identityProofMatches(SECRET, 'node-c', 'query-signature', proof)).toBe(false);
    expect(identityProofMatches(SECRET, 'node-b', 'another-query', proof)).toBe(false);
    const wrong = identityProof(
      'another-secret-0123456789abcdefghijk',
      'node-b',
      'query-signature',
    );
    expect(identityProofMatches(SECRET, 'node-b', 'query-signature', wrong)).toBe(false);
  });
});
