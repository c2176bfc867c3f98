/** What is needed to send a packet again: the shared payload (not copied) and its header fields. */
export type SentPacket = {
  payload: Buffer;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  /** SRTP rollover counter it was protected with. */
  roc: number;
};

/**
 * The last packets sent on one stream, by sequence number, to answer NACKs (RFC 4585). Entries
 * point at the avatar's shared payloads, so the history costs a few KB per session whatever its
 * length: 512 packets, about 3 s at 1.5 Mbit/s (werift keeps 128 copies).
 *
 * A ring of preallocated slots (parallel typed arrays plus one array of payload references):
 * `put` runs for every packet sent, so it allocates nothing; an object per packet was young-
 * generation garbage at ≈ 20,000 packets/s per core (docs/benchmarks.md, "Capacity").
 */
export class RtpHistory {
  #payloads: Array<Buffer | undefined>;
  /** Sequence number + 1 of each slot (0: empty), the timestamp, marker and rollover counter. */
  #sequences: Int32Array;
  #timestamps: Uint32Array;
  #markers: Uint8Array;
  #rocs: Uint32Array;
  #mask: number;

  constructor(size = 512) {
    if ((size & (size - 1)) !== 0) throw new Error('history size must be a power of two');
    this.#payloads = new Array<Buffer | undefined>(size).fill(undefined);
    this.#sequences = new Int32Array(size);
    this.#timestamps = new Uint32Array(size);
    this.#markers = new Uint8Array(size);
    this.#rocs = new Uint32Array(size);
    this.#mask = size - 1;
  }

  put(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean, roc: number) {
    const slot = sequenceNumber & this.#mask;
    this.#payloads[slot] = payload;
    this.#sequences[slot] = sequenceNumber + 1;
    this.#timestamps[slot] = timestamp;
    this.#markers[slot] = marker ? 1 : 0;
    this.#rocs[slot] = roc;
  }

  /** The packet sent with `sequenceNumber`, if still held (a NACK is rare: this may allocate). */
  get(sequenceNumber: number): SentPacket | undefined {
    const slot = sequenceNumber & this.#mask;
    const payload = this.#payloads[slot];
    if (payload === undefined || this.#sequences[slot] !== sequenceNumber + 1) return undefined;
    return {
      payload,
      sequenceNumber,
      timestamp: this.#timestamps[slot]!,
      marker: this.#markers[slot] === 1,
      roc: this.#rocs[slot]!,
    };
  }
}
