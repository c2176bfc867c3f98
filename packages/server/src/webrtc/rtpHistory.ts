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
 * The packets sent on one stream in the last second or so, by sequence number, to answer NACKs
 * (RFC 4585). A retransmission is only worth sending while the receiver still waits for it: a
 * live 25 fps picture is played within a few frames, and Chromium stops asking for a packet after
 * a few round trips. So the ring is sized by time, not by a packet count: it starts at `initial`
 * slots and doubles (up to `max`) whenever the packet it would overwrite is less than
 * `keepTicks` (RTP clock ticks; 90,000 = 1 s of video) older than the new one. A session then
 * holds about one second of its own stream: 64–128 slots for the avatars here (≈ 50–120 packets
 * a second), ≈ 21 bytes each (docs/benchmarks.md, "Memory per session"); the 512 slots it had
 * before were ≈ 11 KB per session.
 *
 * A slot holds a reference to the avatar's shared payload (never a copy) and the header fields in
 * parallel typed arrays: `put` runs for every packet sent, so it allocates nothing (an object per
 * packet was young-generation garbage at ≈ 20,000 packets/s per core; docs/benchmarks.md,
 * "Capacity"). Growing allocates, a few times per session at most.
 */
export class RtpHistory {
  #payloads: Array<Buffer | undefined>;
  /** Sequence number + 1 of each slot (0: empty), the timestamp, marker and rollover counter. */
  #sequences: Int32Array;
  #timestamps: Uint32Array;
  #markers: Uint8Array;
  #rocs: Uint32Array;
  #mask: number;
  readonly #max: number;
  readonly #keepTicks: number;

  constructor(options: { initial?: number; max?: number; keepTicks?: number } = {}) {
    const { initial = 64, max = 1024, keepTicks = 90_000 } = options;
    for (const size of [initial, max]) {
      if (size < 1 || (size & (size - 1)) !== 0) {
        throw new Error('history sizes must be powers of two');
      }
    }
    this.#max = Math.max(initial, max);
    this.#keepTicks = keepTicks;
    this.#payloads = [];
    this.#sequences = new Int32Array(0);
    this.#timestamps = new Uint32Array(0);
    this.#markers = new Uint8Array(0);
    this.#rocs = new Uint32Array(0);
    this.#mask = 0;
    this.#resize(initial);
  }

  /** Slots held now (grows with the stream's packet rate, never shrinks). */
  get capacity() {
    return this.#mask + 1;
  }

  put(payload: Buffer, sequenceNumber: number, timestamp: number, marker: boolean, roc: number) {
    let slot = sequenceNumber & this.#mask;
    const held = this.#sequences[slot]!;
    // The packet about to be overwritten is younger than keepTicks: one second does not fit.
    if (
      held !== 0 &&
      held - 1 !== sequenceNumber &&
      this.#mask + 1 < this.#max &&
      (timestamp - this.#timestamps[slot]!) >>> 0 < this.#keepTicks
    ) {
      this.#resize((this.#mask + 1) * 2);
      slot = sequenceNumber & this.#mask;
    }
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

  /** New arrays of `size` slots, each held packet moved to its slot there. */
  #resize(size: number) {
    const old = {
      payloads: this.#payloads,
      sequences: this.#sequences,
      timestamps: this.#timestamps,
      markers: this.#markers,
      rocs: this.#rocs,
    };
    this.#payloads = new Array<Buffer | undefined>(size).fill(undefined);
    this.#sequences = new Int32Array(size);
    this.#timestamps = new Uint32Array(size);
    this.#markers = new Uint8Array(size);
    this.#rocs = new Uint32Array(size);
    this.#mask = size - 1;
    for (let i = 0; i < old.sequences.length; i++) {
      const held = old.sequences[i]!;
      if (held === 0) continue;
      const slot = (held - 1) & this.#mask;
      this.#payloads[slot] = old.payloads[i];
      this.#sequences[slot] = held;
      this.#timestamps[slot] = old.timestamps[i]!;
      this.#markers[slot] = old.markers[i]!;
      this.#rocs[slot] = old.rocs[i]!;
    }
  }
}
