import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AvatarServerError } from '../lib/errors.js';
import { OfferError } from '../webrtc/offer.js';
import { fromWire, parseSessionId, sessionIdPrefix, toWire } from './protocol.js';

describe('session ids name their node and worker', () => {
  it('reads the node and worker back from an id: the prefix and 128 random bits', () => {
    for (const node of ['a', 'avatar-server-7d9f8c-x2k4q', 'n0']) {
      for (const index of [0, 1, 7, 31, 255]) {
        const id = sessionIdPrefix(node, index) + randomBytes(16).toString('base64url');
        expect(parseSessionId(id)).toEqual({ node, worker: index });
      }
    }
  });
  it('an id no node could have made names none (a 404 without asking a worker or a node)', () => {
    const random = randomBytes(16).toString('base64url');
    for (const id of [
      random,
      `w1-${random}`,
      `a.w1-${random}x`,
      `a.w1-${random.slice(1)}`,
      `a.x1-${random}`,
      'a.w1-',
      `A.w1-${random}`,
      `-a.w1-${random}`,
      `10.0.0.1.w1-${random}`,
      `a:80.w1-${random}`,
      `${'a'.repeat(64)}.w1-${random}`,
    ]) {
      expect(parseSessionId(id)).toBeUndefined();
    }
  });
});

describe('errors across the thread boundary', () => {
  it('keep their code, message and Retry-After', () => {
    const busy = fromWire(
      toWire(new AvatarServerError('server_busy', 'full', { retryAfterSeconds: 5 })),
    );
    expect(busy).toBeInstanceOf(AvatarServerError);
    expect(busy).toMatchObject({
      code: 'server_busy',
      message: 'full',
      extra: { retryAfterSeconds: 5 },
    });
    const offer = fromWire(toWire(new OfferError('unusable', 'no video')));
    expect(offer).toBeInstanceOf(OfferError);
    expect(offer).toMatchObject({ kind: 'unusable', message: 'no video' });
    expect(fromWire(toWire(new TypeError('boom'))).message).toBe('boom');
  });
});
