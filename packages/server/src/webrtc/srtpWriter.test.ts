import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtpHeader,
  RtpPacket,
  SrtpSession,
} from 'werift';
import { type SrtpKeys, SrtpWriter } from './srtpWriter.js';

/** A werift sender and receiver SRTP session pair sharing fresh master keys. */
function sessions(profile: number) {
  const saltLength = profile === ProtectionProfileAeadAes128Gcm ? 12 : 14;
  const a = { key: randomBytes(16), salt: randomBytes(saltLength) };
  const b = { key: randomBytes(16), salt: randomBytes(saltLength) };
  const sender = new SrtpSession({
    keys: {
      localMasterKey: a.key,
      localMasterSalt: a.salt,
      remoteMasterKey: b.key,
      remoteMasterSalt: b.salt,
    },
    profile,
  });
  const receiver = new SrtpSession({
    keys: {
      localMasterKey: b.key,
      localMasterSalt: b.salt,
      remoteMasterKey: a.key,
      remoteMasterSalt: a.salt,
    },
    profile,
  });
  const ctx = sender.localContext as unknown as {
    srtpSessionKey: Buffer;
    srtpSessionSalt: Buffer;
    srtpSessionAuthTag: Buffer;
  };
  const keys: SrtpKeys =
    profile === ProtectionProfileAeadAes128Gcm
      ? { profile: 'gcm', key: ctx.srtpSessionKey, salt: ctx.srtpSessionSalt }
      : {
          profile: 'cm',
          key: ctx.srtpSessionKey,
          salt: ctx.srtpSessionSalt,
          authKey: ctx.srtpSessionAuthTag,
        };
  return { sender, receiver, keys };
}

describe('SrtpWriter', () => {
  for (const [name, profile] of [
    ['AEAD_AES_128_GCM', ProtectionProfileAeadAes128Gcm],
    ['AES_CM_128_HMAC_SHA1_80', ProtectionProfileAes128CmHmacSha1_80],
  ] as const) {
    it(`${name}: byte-identical to werift's protect, and werift's unprotect recovers the packet`, () => {
      const { sender, receiver, keys } = sessions(profile);
      const mid = Buffer.from('0');
      const playout = Buffer.from([0, 0, 0]);
      const writer = new SrtpWriter(keys, {
        ssrc: 0x12345678,
        payloadType: 102,
        extensions: [
          { id: 1, payload: mid },
          { id: 5, payload: playout },
        ],
        absSendTimeId: 3,
      });
      // Across a sequence-number wrap, so the rollover counter is exercised too.
      let seq = 0xfff0;
      for (let i = 0; i < 40; i++) {
        const payload = randomBytes(1 + ((i * 97) % 1200));
        const timestamp = (0xfffff000 + i * 3600) >>> 0;
        const marker = i % 3 === 2;
        const nowMs = 1_700_000_000_000 + i * 7;
        const srtp = writer.protect(payload, seq, timestamp, marker, nowMs);

        const abs = Math.floor((nowMs / 1000 + 2_208_988_800) * 262_144) % 0x1000000;
        const absBytes = Buffer.alloc(3);
        absBytes.writeUIntBE(abs, 0, 3);
        const header = new RtpHeader({
          sequenceNumber: seq,
          timestamp,
          marker,
          payloadType: 102,
          ssrc: 0x12345678,
          extension: true,
          extensions: [
            { id: 1, payload: mid },
            { id: 3, payload: absBytes },
            { id: 5, payload: playout },
          ],
        });
        expect(srtp.equals(sender.encrypt(payload, header))).toBe(true);

        const plain = RtpPacket.deSerialize(receiver.decrypt(srtp));
        expect(plain.payload.equals(payload)).toBe(true);
        expect(plain.header.sequenceNumber).toBe(seq);
        expect(plain.header.timestamp).toBe(timestamp);
        expect(plain.header.marker).toBe(marker);
        expect(plain.header.extensions.find((e) => e.id === 3)?.payload.equals(absBytes)).toBe(
          true,
        );
        seq = (seq + 1) & 0xffff;
      }
    });
  }

  it('a tampered packet fails werift authentication', () => {
    const { receiver, keys } = sessions(ProtectionProfileAes128CmHmacSha1_80);
    const writer = new SrtpWriter(keys, { ssrc: 1, payloadType: 96, extensions: [] });
    const srtp = writer.protect(randomBytes(100), 1, 0, true);
    srtp[20] = srtp[20]! ^ 1;
    expect(() => receiver.decrypt(srtp)).toThrow();
  });
});
