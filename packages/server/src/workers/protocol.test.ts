import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AvatarServerError } from '../lib/errors.js';
import { OfferError } from '../webrtc/offer.js';
import { fromWire, sessionIdPrefix, toWire, workerOfSession } from './protocol.js';

describe('session ids name their worker', () => {
  it('reads the worker back from an id: the prefix and 128 random bits', () => {
    for (const index of [0, 1, 7, 31, 255]) {
      const id = sessionIdPrefix(index) + randomBytes(16).toString('base64url');
      expect(workerOfSession(id)).toBe(index);
    }
  });
  it('an id no worker could have made names none (a 404 without asking a worker)', () => {
    const random = randomBytes(16).toString('base64url');
    for (const id of [random, `w1-${random}x`, `w1-${random.slice(1)}`, `x1-${random}`, 'w1-']) {
      expect(workerOfSession(id)).toBeUndefined();
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
