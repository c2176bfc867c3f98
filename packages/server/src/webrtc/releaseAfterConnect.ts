import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RTCPeerConnection } from 'werift';
import { internStrings, walkable } from './internStrings.js';
import { closeQuietSockets, releaseIce } from './releaseIce.js';
import { unpoolKeys } from './unpoolKeys.js';

/**
 * Memory a connected, send-only werift (0.25.2) peer no longer needs, released at runtime on our
 * own peers only (docs/benchmarks.md, "Memory per session", has the heap snapshots behind each
 * step). werift offers no setting for any of them:
 *
 * - **Events.** Every werift `Event` (about 70 per peer: one per callback list of the ICE agent,
 *   DTLS socket, transports, sender, receiver, data channel…) is built with ten arrow-function
 *   class fields, ten closures of its own (~0.7 KB) though they all do the same thing. Each is
 *   replaced by one shared function that reads `this`, so an Event keeps only its subscriber
 *   list (or, if nobody ever subscribed, one shared empty list). werift always calls them as
 *   methods (`event.execute(…)`, `event.subscribe(…)`) and never detaches them (its
 *   `returnTrigger`/`returnListener` getters are unused), and neither do we. Only an Event whose
 *   shape and method sources are exactly werift 0.25.2's is touched.
 * - **DTLS handshake state.** Once DTLS is connected, werift keeps every handshake message
 *   (`handshakeCache`, the last flight, the flight objects, the hello extensions), the ECDH key
 *   pairs and its own parsed copy of the process's private key and certificate; none is read
 *   again (werift handles no retransmitted flight after `connected`, and a renegotiation builds
 *   new contexts). The small Buffers among them are slices of Node's 8 KB pool, so each also
 *   pinned a whole slab.
 * - **Pooled key slices** (unpoolKeys.ts): the keys that stay get allocations of their own.
 * - **ICE** (releaseIce.ts): the pooled Buffer each consent request pinned, the pairs' unbounded
 *   record of incoming checks, and (once the viewer has stopped checking them) the sockets
 *   besides the nominated pair's.
 * - **The SDP** (`releaseSdp`): the parsed local and remote descriptions and their text.
 * - **SRTCP's copy of the SRTP keys** (`shareSrtpContexts`): one cipher and one set of keys per
 *   direction instead of two.
 * - **Strings** (internStrings.ts): ids built by concatenation and slices pinning the offer.
 */
export function slimPeer(pc: RTCPeerConnection, log: () => Logger) {
  let done = false;
  pc.connectionStateChange.subscribe((state) => {
    if (state !== 'connected' || done) return;
    done = true;
    const started = performance.now();
    const released = LEVERS.has('dtls') ? releaseDtlsHandshakes(pc) : 0;
    const keys = LEVERS.has('keys') ? unpoolKeys(pc) : 0;
    const icePairs = LEVERS.has('ice') ? releaseIce(pc) : 0;
    if (LEVERS.has('ice')) {
      for (const transport of pc.iceTransports) {
        closeQuietSockets((transport as unknown as { connection: object }).connection, (n) =>
          log().debug({ closed: n }, 'unused ICE sockets closed'),
        );
      }
    }
    const sdp = LEVERS.has('sdp') ? releaseSdp(pc) : false;
    const srtcpContexts = LEVERS.has('srtp') ? shareSrtpContexts(pc) : 0;
    const events = LEVERS.has('events') ? slimEvents(pc) : 0;
    // Last: the strings of everything above that stays.
    const strings = LEVERS.has('strings') ? internStrings(pc) : 0;
    log().debug(
      {
        events,
        dtlsHandshakes: released,
        keys,
        icePairs,
        sdp,
        srtcpContexts,
        strings,
        ms: Math.round((performance.now() - started) * 100) / 100,
      },
      'peer slimmed after connecting',
    );
  });
  if (!LEVERS.has('events')) return;
  // A data channel the client opens later brings its own Events.
  pc.onDataChannel.subscribe((channel) => {
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') slimEvents(channel);
    });
  });
}

/**
 * Which releases run: all by default. `AVATAR_SERVER_SLIM_PEERS` (a comma list of `events`,
 * `dtls`, `keys`, `ice`, `sdp`, `srtp`, `strings`, or `none`) exists for `bench/sessionMemory.ts`, to measure each alone.
 */
const LEVERS = new Set(
  (process.env.AVATAR_SERVER_SLIM_PEERS ?? 'events,dtls,keys,ice,sdp,srtp,strings')
    .split(',')
    .map((s) => s.trim()),
);

type WeriftEvent = {
  event: { stack: Subscriber[]; promiseStack: Subscriber[]; eventId: number };
  ended: boolean;
  onended?: () => void;
  onerror: (e: unknown) => void;
};
/** An Event as its methods see it (`this`). */
type EventThis = WeriftEvent & {
  allUnsubscribe(): void;
  subscribe(
    execute: Subscriber['execute'],
    complete?: Subscriber['complete'],
    error?: Subscriber['error'],
  ): { unSubscribe: () => void };
  once(
    execute: Subscriber['execute'],
    complete?: Subscriber['complete'],
    error?: Subscriber['error'],
  ): void;
};
type Subscriber = {
  execute: (...args: unknown[]) => unknown;
  id: number;
  complete?: () => void;
  error?: (e: unknown) => void;
};

/**
 * The subscriber lists of every slimmed Event nobody has subscribed to yet (about half of a
 * peer's: negotiation, codec-preference, gathering and stats Events of a peer that negotiates
 * once): one frozen object for all, replaced by lists of its own on the first subscription.
 */
const NEVER_SUBSCRIBED: WeriftEvent['event'] = Object.freeze({
  stack: Object.freeze([]) as unknown as Subscriber[],
  promiseStack: Object.freeze([]) as unknown as Subscriber[],
  eventId: 0,
});

/** The Event's own subscriber lists (made on its first subscription). */
function ownLists(event: WeriftEvent) {
  if (event.event === NEVER_SUBSCRIBED) event.event = { stack: [], promiseStack: [], eventId: 0 };
  return event.event;
}

/** The same behaviour as werift's per-instance arrow functions, written once with `this`. */
const shared = {
  onerror(_e: unknown) {},
  execute(this: WeriftEvent, ...args: unknown[]) {
    if (this.ended) return;
    for (const item of this.event.stack) item.execute(...args);
    // werift starts this loop for every call; it only matters with queued subscribers.
    if (this.event.promiseStack.length === 0) return;
    (async () => {
      for (const item of this.event.promiseStack) await item.execute(...args);
    })().catch((e) => this.onerror(e));
  },
  complete(this: EventThis) {
    if (this.ended) return;
    for (const item of this.event.stack) item.complete?.();
    this.allUnsubscribe();
    this.ended = true;
    if (this.onended) {
      this.onended();
      this.onended = undefined;
    }
  },
  error(this: EventThis, e: unknown) {
    if (this.ended) return;
    for (const item of this.event.stack) item.error?.(e);
    this.allUnsubscribe();
  },
  allUnsubscribe(this: WeriftEvent) {
    if (this.ended) return;
    this.event = { stack: [], promiseStack: [], eventId: 0 };
  },
  subscribe(
    this: WeriftEvent,
    execute: Subscriber['execute'],
    complete?: Subscriber['complete'],
    error?: Subscriber['error'],
  ) {
    const lists = ownLists(this);
    const id = lists.eventId;
    lists.stack.push({ execute, id, complete, error });
    lists.eventId++;
    return subscription(this, id);
  },
  queuingSubscribe(
    this: WeriftEvent,
    execute: Subscriber['execute'],
    complete?: Subscriber['complete'],
    error?: Subscriber['error'],
  ) {
    if (this.ended) throw new Error('event completed');
    const lists = ownLists(this);
    const id = lists.eventId;
    lists.promiseStack.push({ execute, id, complete, error });
    lists.eventId++;
    // As in werift: its unSubscribe filters `stack`, not `promiseStack`.
    return subscription(this, id);
  },
  once(
    this: EventThis,
    execute: Subscriber['execute'],
    complete?: Subscriber['complete'],
    error?: Subscriber['error'],
  ) {
    const off = this.subscribe(
      (...args: unknown[]) => {
        off.unSubscribe();
        execute(...args);
      },
      complete,
      error,
    );
  },
  watch(this: EventThis, cb: (...args: unknown[]) => unknown, timeLimit?: number) {
    return new Promise((resolve, reject) => {
      const timeout =
        timeLimit &&
        setTimeout(() => {
          reject('Event watch timeout');
        }, timeLimit);
      const { unSubscribe } = this.subscribe((...args: unknown[]) => {
        if (cb(...args)) {
          if (timeout) clearTimeout(timeout);
          unSubscribe();
          resolve(args);
        }
      });
    });
  },
  asPromise(this: EventThis, timeLimit?: number) {
    return new Promise((resolve, reject) => {
      const timeout =
        timeLimit &&
        setTimeout(() => {
          reject('Event asPromise timeout');
        }, timeLimit);
      this.once(
        (...args: unknown[]) => {
          if (timeout) clearTimeout(timeout);
          resolve(args);
        },
        () => {
          if (timeout) clearTimeout(timeout);
          resolve([]);
        },
        (err: unknown) => {
          if (timeout) clearTimeout(timeout);
          reject(err);
        },
      );
    });
  },
};

const METHODS = Object.keys(shared) as Array<keyof typeof shared & string>;
const KEYS = ['event', 'ended', 'onended', ...METHODS].sort().join();
/**
 * SHA-256 of the sources of werift 0.25.2's Event methods (a fresh instance's, in METHODS order).
 * Another werift whose Event differs is left alone: `slimEvents` then returns 0 (tested).
 */
export const WERIFT_EVENT_SOURCES =
  '2b9d4e1883e05738d89afa8ae83a30c4f6904eca67848b6fbd5189e72d87fc7e';

/** Per Event class: whether it is the one `shared` reproduces (checked once, on a new instance). */
const knownEventClass = new WeakMap<object, boolean>();

function isWeriftEvent(value: object): value is WeriftEvent {
  const candidate = value as { subscribe?: unknown; event?: { stack?: unknown } };
  if (typeof candidate.subscribe !== 'function' || !Array.isArray(candidate.event?.stack)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value) as { constructor?: new () => object } | null;
  if (!proto?.constructor) return false;
  let known = knownEventClass.get(proto);
  if (known === undefined) {
    known = false;
    try {
      const fresh = new proto.constructor() as Record<string, unknown>;
      if (Object.keys(fresh).sort().join() === KEYS) {
        const sources = METHODS.map((m) => String(fresh[m])).join('\n');
        known = createHash('sha256').update(sources).digest('hex') === WERIFT_EVENT_SOURCES;
      }
    } catch {
      known = false;
    }
    knownEventClass.set(proto, known);
  }
  return known;
}

/**
 * Replaces the per-instance closures of every werift Event reachable from `root` (own
 * properties, arrays, maps and sets; not through closures) with the shared functions above.
 * Returns how many Events it slimmed. Safe to run again: a slimmed Event is skipped.
 */
export function slimEvents(root: object): number {
  const seen = new Set<object>();
  const stack: object[] = [root];
  let slimmed = 0;
  while (stack.length > 0 && seen.size < 50_000) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    if (isWeriftEvent(value)) {
      const event = value as unknown as Record<string, unknown>;
      if (event.execute !== shared.execute) {
        // The default onerror is werift's empty arrow function; one assigned by code stays.
        const onerror = event.onerror;
        for (const m of METHODS) if (m !== 'onerror') event[m] = shared[m];
        if (typeof onerror === 'function' && /^\(e\)\s*=>\s*\{\s*\}$/.test(String(onerror))) {
          event.onerror = shared.onerror;
        }
        slimmed++;
      }
      const lists = value.event;
      if (lists.eventId === 0 && lists.stack.length === 0 && lists.promiseStack.length === 0) {
        value.event = NEVER_SUBSCRIBED;
      }
      for (const s of value.event.stack) stack.push(s);
      continue;
    }
    for (const child of childrenOf(value)) stack.push(child);
  }
  return slimmed;
}

/** Objects directly held by `value` that may hold werift objects; not Node's own machinery. */
function* childrenOf(value: object): Generator<object> {
  if (!walkable(value)) return;
  const values: Iterable<unknown> =
    value instanceof Map || value instanceof Set
      ? value.values()
      : Array.isArray(value)
        ? value
        : Object.values(value);
  for (const v of values) if (typeof v === 'object' && v !== null) yield v;
}

/** werift internals (0.25.2) of a DTLS socket after its handshake. */
type DtlsSocketInternals = {
  connected?: boolean;
  flight5?: unknown;
  flight6?: unknown;
  bufferFragmentedHandshakes?: unknown[];
  extensions?: unknown[];
  dtls?: { handshakeCache?: object; lastFlight?: unknown[]; lastMessage?: unknown[] };
  cipher?: {
    localPrivateKey?: unknown;
    localCert?: unknown;
    localKeyPair?: unknown;
    remoteKeyPair?: unknown;
  };
};

/**
 * Drops what only the DTLS handshake reads, on every connected DTLS socket of `pc`; returns how
 * many sockets it released. The SRTP keys, the record cipher and the master secret stay.
 */
export function releaseDtlsHandshakes(pc: RTCPeerConnection): number {
  let released = 0;
  for (const transport of pc.dtlsTransports) {
    const socket = (transport as unknown as { dtls?: DtlsSocketInternals }).dtls;
    if (!socket?.connected || !socket.dtls || !socket.cipher) continue;
    socket.flight5 = undefined;
    socket.flight6 = undefined;
    socket.bufferFragmentedHandshakes = [];
    // The hello extensions (SRTP profiles, curves, signatures): sent once, in the ClientHello.
    socket.extensions = [];
    socket.dtls.handshakeCache = {};
    socket.dtls.lastFlight = [];
    socket.dtls.lastMessage = [];
    socket.cipher.localPrivateKey = undefined;
    socket.cipher.localCert = undefined;
    socket.cipher.localKeyPair = undefined;
    socket.cipher.remoteKeyPair = undefined;
    released++;
  }
  return released;
}

/**
 * Drops werift's parsed local and remote descriptions (and the SDP text cached with each) once
 * negotiation is over; returns whether it did. Nothing reads them again on our peers: werift
 * reads them to negotiate (createOffer/createAnswer, setLocal/RemoteDescription), to file a
 * trickled candidate under its section (`addIceCandidate`) and to create a transport for a new
 * section, and our peers do none of these once connected: one negotiation, no ICE restart
 * (refused before werift), and AvatarPeer keeps the remote ufrag and ignores candidates trickled
 * after connecting. The transceivers, codecs and transports negotiated from them stay.
 * `pc.localDescription` and `pc.remoteDescription` are null from then on.
 */
export function releaseSdp(pc: RTCPeerConnection): boolean {
  const sdp = (pc as unknown as { sdpManager?: SdpManagerInternals }).sdpManager;
  if (!sdp || pc.signalingState !== 'stable') return false;
  if (sdp.pendingLocalDescription || sdp.pendingRemoteDescription) return false;
  if (!sdp.currentLocalDescription || !sdp.currentRemoteDescription) return false;
  sdp.currentLocalDescription = undefined;
  sdp.currentRemoteDescription = undefined;
  return true;
}

/** werift's SDPManager (0.25.2): the descriptions it keeps. */
type SdpManagerInternals = {
  currentLocalDescription?: object;
  currentRemoteDescription?: object;
  pendingLocalDescription?: object;
  pendingRemoteDescription?: object;
};

/** The key fields of a werift SRTP context (0.25.2), the same in its SRTP and SRTCP sessions. */
const SRTP_KEY_FIELDS = [
  'masterKey',
  'masterSalt',
  'srtpSessionKey',
  'srtpSessionSalt',
  'srtpSessionAuthTag',
  'srtcpSessionKey',
  'srtcpSessionSalt',
  'srtcpSessionAuthTag',
] as const;
type SrtpContextInternals = Record<(typeof SRTP_KEY_FIELDS)[number], unknown> & {
  cipher?: object;
  srtpSessionAuth?: unknown;
  srtcpSessionAuth?: unknown;
};

/**
 * werift builds a transport's SRTP and SRTCP sessions from the same keys, and each of their
 * local and remote contexts derives every session key (SRTP's and SRTCP's) and builds its own
 * cipher (for AES-GCM, three writers with reusable Buffers: ≈ 2 KB) and two HMACs. An SRTP
 * context only uses the SRTP half of its state and an SRTCP context only the SRTCP half (their
 * counters are separate fields: `srtpSSRCStates`, `srtcpSSRCStates`), and a cipher keeps no state
 * between calls (each call makes its Node cipher from the keys), so the SRTCP context takes the
 * SRTP context's keys and cipher. The HMACs made at construction are never used (werift's
 * `generateSrtpAuthTag` and its CTR cipher make a new one per packet). Only contexts whose keys
 * are byte-for-byte equal and whose ciphers are of one class are touched. Returns how many
 * SRTCP contexts now share.
 */
export function shareSrtpContexts(pc: RTCPeerConnection): number {
  let shared = 0;
  for (const transport of pc.dtlsTransports) {
    const t = transport as unknown as {
      srtp?: Partial<Record<'localContext' | 'remoteContext', SrtpContextInternals>>;
      srtcp?: Partial<Record<'localContext' | 'remoteContext', SrtpContextInternals>>;
    };
    for (const side of ['localContext', 'remoteContext'] as const) {
      const srtp = t.srtp?.[side];
      const srtcp = t.srtcp?.[side];
      if (!srtp?.cipher || !srtcp?.cipher || srtp === srtcp) continue;
      if (srtp.cipher.constructor !== srtcp.cipher.constructor) continue;
      const same = SRTP_KEY_FIELDS.every((f) => {
        const a = srtp[f];
        const b = srtcp[f];
        return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
      });
      if (!same) continue;
      for (const f of SRTP_KEY_FIELDS) srtcp[f] = srtp[f];
      srtcp.cipher = srtp.cipher;
      srtp.srtcpSessionAuth = undefined;
      srtcp.srtcpSessionAuth = undefined;
      srtcp.srtpSessionAuth = undefined;
      shared++;
    }
  }
  return shared;
}

/** What werift's `subscribe` and `queuingSubscribe` return: removal from `stack` by id. */
function subscription(event: WeriftEvent, id: number) {
  const unSubscribe = () => {
    if (event.event === NEVER_SUBSCRIBED) return;
    event.event.stack = event.event.stack.filter((item) => item.id !== id && item);
  };
  const disposer = (list: Array<() => void>) => {
    list.push(unSubscribe);
  };
  return { unSubscribe, disposer };
}
