import { createCipheriv, createHmac } from 'node:crypto';
import type { Logger } from 'pino';

/**
 * SRTP protection of outgoing RTP in one pass over preallocated bytes: the RTP header (with the
 * session's fixed header extensions) is written from a per-sender template, only sequence number,
 * timestamp, marker and abs-send-time change per packet; the payload is encrypted straight from
 * the shared, pre-packetized buffer. It replaces werift's per-packet RtpPacket clone, header
 * object, extension list, serialize and Buffer.concat calls (docs/werift.md, fast path). Both
 * profiles werift negotiates are supported: AEAD_AES_128_GCM (RFC 7714) and AES_CM_128_HMAC_SHA1_80
 * (RFC 3711).
 * Tested against werift's own SrtpSession unprotect (srtpWriter.test.ts).
 */

export type SrtpKeys =
  | { profile: 'gcm'; key: Buffer; salt: Buffer }
  | { profile: 'cm'; key: Buffer; salt: Buffer; authKey: Buffer };

export type RtpExtension = { id: number; payload: Buffer };

export type WriterOptions = {
  ssrc: number;
  payloadType: number;
  /** One-byte-header extensions sent with every packet (e.g. mid, playout-delay), by id. */
  extensions: RtpExtension[];
  /** Id of abs-send-time, rewritten per packet; undefined when not negotiated. */
  absSendTimeId?: number | undefined;
  /** Told (debug) when the rollover counter advances: a receiver that misses it cannot decrypt. */
  logger?: Logger | undefined;
};

const NTP_EPOCH_OFFSET_S = 2_208_988_800;

export class SrtpWriter {
  #keys: SrtpKeys;
  #template: Buffer;
  #absSendTimeOffset = -1;
  #tagLength: number;
  #ssrc: number;
  /** Rollover counter and last sequence number (RFC 3711 §3.3.1), for our one SSRC. */
  #roc = 0;
  #lastSeq = -1;
  #iv: Buffer;
  #roc4 = Buffer.alloc(4);
  #log: Logger | undefined;

  constructor(keys: SrtpKeys, options: WriterOptions) {
    // Own copies: werift's keys are slices of Node's shared 8 KB Buffer pool, and holding one
    // keeps its whole block alive for the session (unpoolKeys.ts). `Buffer.alloc` never pools.
    const own = (b: Buffer) => {
      const copy = Buffer.alloc(b.length);
      b.copy(copy);
      return copy;
    };
    this.#keys =
      keys.profile === 'gcm'
        ? { profile: 'gcm', key: own(keys.key), salt: own(keys.salt) }
        : { profile: 'cm', key: own(keys.key), salt: own(keys.salt), authKey: own(keys.authKey) };
    this.#log = options.logger;
    this.#ssrc = options.ssrc >>> 0;
    this.#tagLength = keys.profile === 'gcm' ? 16 : 10;
    this.#iv = Buffer.alloc(keys.profile === 'gcm' ? 12 : 16);
    const elements: Buffer[] = [];
    const extensions = [...options.extensions];
    if (options.absSendTimeId !== undefined) {
      extensions.push({ id: options.absSendTimeId, payload: Buffer.alloc(3) });
    }
    extensions.sort((a, b) => a.id - b.id);
    let offset = 4;
    for (const e of extensions) {
      if (e.id === options.absSendTimeId) this.#absSendTimeOffset = 12 + offset + 1;
      elements.push(Buffer.from([(e.id << 4) | (e.payload.length - 1)]), e.payload);
      offset += 1 + e.payload.length;
    }
    const extLength = extensions.length ? Math.ceil((offset - 4) / 4) * 4 : 0;
    const header = Buffer.alloc(12 + (extensions.length ? 4 + extLength : 0));
    header[0] = extensions.length ? 0x90 : 0x80;
    header[1] = options.payloadType & 0x7f;
    header.writeUInt32BE(this.#ssrc, 8);
    if (extensions.length) {
      header.writeUInt16BE(0xbede, 12);
      header.writeUInt16BE(extLength / 4, 14);
      Buffer.concat(elements).copy(header, 16);
    }
    this.#template = header;
  }

  get headerLength() {
    return this.#template.length;
  }

  /** Rollover counter of the last packet protected (store it to protect a retransmission). */
  get rolloverCounter() {
    return this.#roc >>> 0;
  }

  /**
   * The SRTP packet for one RTP payload (a new buffer the caller may hand to the socket). `roc`
   * is given only for a retransmission: the counter the packet had when first sent.
   */
  protect(
    payload: Uint8Array,
    sequenceNumber: number,
    timestamp: number,
    marker: boolean,
    nowMs = performance.timeOrigin + performance.now(),
    roc = this.#rolloverCounter(sequenceNumber),
  ): Buffer {
    const headerLength = this.#template.length;
    const out = Buffer.allocUnsafe(headerLength + payload.length + this.#tagLength);
    this.#template.copy(out, 0);
    if (marker) out[1] = out[1]! | 0x80;
    out.writeUInt16BE(sequenceNumber, 2);
    out.writeUInt32BE(timestamp >>> 0, 4);
    if (this.#absSendTimeOffset >= 0) {
      // abs-send-time: 6.18 fixed-point seconds of the NTP clock, 24 bits.
      const value = Math.floor((nowMs / 1000 + NTP_EPOCH_OFFSET_S) * 262_144) % 0x1000000;
      out.writeUIntBE(value, this.#absSendTimeOffset, 3);
    }
    const header = out.subarray(0, headerLength);
    const keys = this.#keys;
    const iv = this.#iv;
    if (keys.profile === 'gcm') {
      // RFC 7714 §8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt.
      iv.writeUInt16BE(0, 0);
      iv.writeUInt32BE(this.#ssrc, 2);
      iv.writeUInt32BE(roc, 6);
      iv.writeUInt16BE(sequenceNumber, 10);
      for (let i = 0; i < 12; i++) iv[i] = iv[i]! ^ keys.salt[i]!;
      const cipher = createCipheriv('aes-128-gcm', keys.key, iv);
      cipher.setAAD(header);
      cipher.update(payload).copy(out, headerLength);
      cipher.final();
      cipher.getAuthTag().copy(out, headerLength + payload.length);
      return out;
    }
    // RFC 3711 §4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16).
    iv.fill(0);
    iv.writeUInt32BE(this.#ssrc, 4);
    iv.writeUInt32BE(roc, 8);
    iv.writeUInt16BE(sequenceNumber, 12);
    for (let i = 0; i < 14; i++) iv[i] = iv[i]! ^ keys.salt[i]!;
    const cipher = createCipheriv('aes-128-ctr', keys.key, iv);
    cipher.update(payload).copy(out, headerLength);
    this.#roc4.writeUInt32BE(roc, 0);
    const tag = createHmac('sha1', keys.authKey)
      .update(out.subarray(0, headerLength + payload.length))
      .update(this.#roc4)
      .digest();
    tag.copy(out, headerLength + payload.length, 0, 10);
    return out;
  }

  /** Sequence numbers only move forward here (retransmissions reuse a stored packet). */
  #rolloverCounter(seq: number): number {
    if (this.#lastSeq >= 0 && seq < this.#lastSeq && this.#lastSeq - seq > 0x8000) {
      this.#roc++;
      this.#log?.debug({ roc: this.#roc, seq }, 'SRTP rollover counter advanced');
    }
    if (this.#lastSeq < 0 || ((seq - this.#lastSeq) & 0xffff) < 0x8000) this.#lastSeq = seq;
    return this.#roc >>> 0;
  }
}
