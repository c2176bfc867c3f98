/**
 * What the sessions added between two V8 heap snapshots hold (written by `bench/sessionMemory.ts
 * --snapshots`), grouped into the parts of a werift peer.
 *
 * Each object is charged to its nearest *dominator* (the closest object every retaining path from
 * the GC roots passes through; weak edges ignored) whose constructor names a part: an ICE
 * `CandidatePair` and everything only it holds is "ICE", a DTLS `Flight` is "DTLS", and so on (see
 * PARTS). What two parts share is charged to the object above both (e.g. `RTCPeerConnection`).
 * Objects under no named object (module state, code) are "other", by constructor. The difference
 * between the snapshots, divided by the sessions added, is what one more session holds.
 *
 * Run: npx tsx bench/heapBreakdown.ts <a.heapsnapshot> <b.heapsnapshot> <sessions added>
 *      [--classes 40] [--part DTLS]  (with --part: the constructors inside that part)
 */
import { readFileSync } from 'node:fs';

/** Constructor name → the part of a peer it belongs to. The first dominator with a match wins. */
const PARTS: Record<string, string[]> = {
  'ICE (agent, candidates, pairs, STUN, sockets)': [
    'Connection',
    'CandidatePair',
    'Candidate',
    'StunProtocol',
    'Transaction',
    'Message',
    'UdpTransport',
    'RTCIceTransport',
    'RTCIceGatherer',
    'IceCandidate',
    'RTCIceCandidate',
    'RTCIceParameters',
    'Socket',
    'UDP',
  ],
  'DTLS (transport, handshake, ciphers, certificate)': [
    'RTCDtlsTransport',
    'DtlsServer',
    'DtlsClient',
    'DtlsSocket',
    'DtlsContext',
    'CipherContext',
    'AEADCipher',
    'Flight',
    'Flight1',
    'Flight3',
    'Flight4',
    'Flight5',
    'Flight6',
    'FragmentedHandshake',
    'RTCCertificate',
    'Certificate',
    'TransportContext',
    'SrtpContext',
    'SrtcpContext',
    'SrtpSession',
    'SrtcpSession',
    'RTCDtlsParameters',
    'RTCDtlsFingerprint',
  ],
  'SCTP (association, streams, data channel)': [
    'RTCSctpTransport',
    'SCTP',
    'SctpTransportManager',
    'RTCDataChannel',
    'RTCDataChannelParameters',
    'InboundStream',
    'DataChunk',
    'SackChunk',
  ],
  'RTP/RTCP (transceiver, sender, receiver, router, NACK, stats)': [
    'RTCRtpTransceiver',
    'RTCRtpSender',
    'RTCRtpReceiver',
    'RtpRouter',
    'NackHandler',
    'StreamStatistics',
    'ReceiverTWCC',
    'SenderBandwidthEstimator',
    'RtcpSrPacket',
    'RtcpRrPacket',
    'RtpPacket',
    'RtpHeader',
    'MediaStreamTrack',
    'MediaStream',
    'RTCRtpCodecParameters',
    'RTCRtpHeaderExtensionParameters',
    'RTCRtcpFeedback',
    'TransceiverManager',
  ],
  'SDP (descriptions kept by the peer)': [
    'SessionDescription',
    'MediaDescription',
    'RTCSessionDescription',
    'PolyfillRTCSessionDescription',
    'SDPManager',
    'GroupDescription',
    'SsrcDescription',
  ],
  'peer connection (shared by its parts)': ['RTCPeerConnection', 'SecureTransportManager'],
  'ours (session, fast path, history)': [
    'AvatarPeer',
    'Session',
    'OwnedSession',
    'SrtpWriter',
    'RtpHistory',
  ],
  'timers (Node)': ['Timeout', 'TimersList', 'Immediate'],
};
const partOf = new Map<string, string>();
for (const [part, names] of Object.entries(PARTS)) for (const n of names) partOf.set(n, part);

type Heap = {
  count: number;
  type: Uint8Array;
  name: Uint32Array;
  self: Float64Array;
  edgeStart: Uint32Array;
  edgeTo: Uint32Array;
  edgeType: Uint8Array;
  edgeNames: Uint32Array;
  edgeTypeNames: string[];
  strings: string[];
  typeNames: string[];
};

function load(file: string): Heap {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const meta = raw.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodes: number[] = raw.nodes;
  const edges: number[] = raw.edges;
  const count = nodes.length / nf;
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iSelf = meta.node_fields.indexOf('self_size');
  const iEdges = meta.node_fields.indexOf('edge_count');
  const type = new Uint8Array(count);
  const name = new Uint32Array(count);
  const self = new Float64Array(count);
  const edgeStart = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    type[i] = nodes[i * nf + iType]!;
    name[i] = nodes[i * nf + iName]!;
    self[i] = nodes[i * nf + iSelf]!;
    edgeStart[i] = e;
    e += nodes[i * nf + iEdges]!;
    edgeStart[i + 1] = e;
  }
  const edgeCount = edges.length / ef;
  const edgeTo = new Uint32Array(edgeCount);
  const edgeType = new Uint8Array(edgeCount);
  const edgeNames = new Uint32Array(edgeCount);
  for (let e = 0; e < edgeCount; e++) {
    edgeType[e] = edges[e * ef]!;
    edgeNames[e] = edges[e * ef + 1]!;
    edgeTo[e] = edges[e * ef + 2]! / nf;
  }
  return {
    count,
    type,
    name,
    self,
    edgeStart,
    edgeTo,
    edgeType,
    edgeNames,
    edgeTypeNames: meta.edge_types[0],
    strings: raw.strings,
    typeNames: meta.node_types[0],
  };
}

/** Immediate dominators (Cooper, Harvey & Kennedy), from node 0, ignoring weak edges. */
function dominators(
  h: Heap,
  weak: number,
): { idom: Int32Array; preds: Uint32Array; predStart: Uint32Array } {
  const { count, edgeStart, edgeTo, edgeType } = h;
  // Reverse postorder by an iterative DFS.
  const order = new Int32Array(count).fill(-1); // node → postorder number
  const post: number[] = [];
  const stack: number[] = [0];
  const next = new Uint32Array(count);
  const seen = new Uint8Array(count);
  seen[0] = 1;
  for (let i = 0; i < count; i++) next[i] = edgeStart[i]!;
  while (stack.length) {
    const n = stack[stack.length - 1]!;
    if (next[n]! < edgeStart[n + 1]!) {
      const e = next[n]!++;
      if (edgeType[e] === weak) continue;
      const to = edgeTo[e]!;
      if (!seen[to]) {
        seen[to] = 1;
        stack.push(to);
      }
    } else {
      stack.pop();
      order[n] = post.length;
      post.push(n);
    }
  }
  // Predecessors (strong edges, reachable nodes only).
  const predCount = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) {
    if (order[n] === -1) continue;
    for (let e = edgeStart[n]!; e < edgeStart[n + 1]!; e++) {
      if (edgeType[e] !== weak) predCount[edgeTo[e]! + 1]!++;
    }
  }
  for (let i = 0; i < count; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[count]!);
  const fill = predCount.slice(0, count);
  for (let n = 0; n < count; n++) {
    if (order[n] === -1) continue;
    for (let e = edgeStart[n]!; e < edgeStart[n + 1]!; e++) {
      if (edgeType[e] !== weak) preds[fill[edgeTo[e]!]!++] = n;
    }
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = post.length - 2; i >= 0; i--) {
      const n = post[i]!;
      let d = -1;
      for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
        const m = preds[p]!;
        if (idom[m] === -1) continue;
        d = d === -1 ? m : intersect(m, d);
      }
      if (d !== -1 && idom[n] !== d) {
        idom[n] = d;
        changed = true;
      }
    }
  }
  return { idom, preds, predStart: predCount };
}

/** A readable class for any node: constructor name for objects, else the node's kind. */
function className(h: Heap, n: number): string {
  const t = h.typeNames[h.type[n]!]!;
  const name = h.strings[h.name[n]!]!;
  switch (t) {
    case 'object':
    case 'native':
      return name;
    case 'closure':
      return '(closure)';
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'hidden':
    case 'synthetic':
      return name.startsWith('system / ') ? `(${name.slice(9)})` : `(${name})`;
    default:
      return `(${t})`;
  }
}

type Breakdown = {
  total: number;
  /** Dominator chains (the object, then what holds it, up to its part's object) → bytes. */
  paths: Map<string, number>;
  /** Bytes by the part object and its field that holds them (e.g. `DtlsContext.handshakeCache`). */
  fields: Map<string, number>;
  /** Retained bytes by constructor (instances held inside another instance of it count once). */
  retained: Map<string, { size: number; count: number }>;
  parts: Map<string, number>;
  classes: Map<string, { size: number; count: number }>;
  partClasses: Map<string, Map<string, number>>;
};

function breakdown(file: string): Breakdown {
  const h = load(file);
  const { idom, preds, predStart } = dominators(h, h.edgeTypeNames.indexOf('weak'));
  // Depth-first over the dominator tree: each node's part is its own or its dominator's.
  const children = new Uint32Array(h.count + 1);
  for (let n = 1; n < h.count; n++) if (idom[n]! >= 0) children[idom[n]! + 1]!++;
  for (let i = 0; i < h.count; i++) children[i + 1]! += children[i]!;
  const kids = new Uint32Array(children[h.count]!);
  const fill = children.slice(0, h.count);
  for (let n = 1; n < h.count; n++) if (idom[n]! >= 0) kids[fill[idom[n]!]!++] = n;
  const part: string[] = new Array(h.count);
  const parts = new Map<string, number>();
  const classes = new Map<string, { size: number; count: number }>();
  const partClasses = new Map<string, Map<string, number>>();
  let total = 0;
  const paths = new Map<string, number>();
  const tracePart = opt('paths');
  const depth = Number(opt('depth') ?? 6);
  /** The edge from `from` to `to`, by name (property, element index or context variable). */
  const edgeName = (from: number, to: number) => {
    for (let e = h.edgeStart[from]!; e < h.edgeStart[from + 1]!; e++) {
      if (h.edgeTo[e] !== to) continue;
      const nameOrIndex = h.edgeNames[e]!;
      const t = h.edgeType[e]!;
      const numbered = h.edgeTypeNames[t] === 'element' || h.edgeTypeNames[t] === 'hidden';
      return numbered ? `[${nameOrIndex}]` : `.${h.strings[nameOrIndex]}`;
    }
    return '?';
  };
  const fields = new Map<string, number>();
  /** For each node: the part object above it and the field of that object it hangs from. */
  const field: string[] = new Array(h.count);
  field[0] = '(no part object)';
  const stack = [0];
  part[0] = 'other';
  const visit: number[] = [];
  while (stack.length) {
    const n = stack.pop()!;
    visit.push(n);
    const cls = className(h, n);
    const own = partOf.get(cls.replace(/^_+/, '').replace(/\d+$/, '')) ?? partOf.get(cls);
    const p = n === 0 ? 'other' : (own ?? part[idom[n]!]!);
    part[n] = p;
    if (n !== 0 && own === undefined && field[n] === undefined) field[n] = field[idom[n]!]!;
    if (own !== undefined) field[n] = `${cls} (itself)`;
    fields.set(field[n]!, (fields.get(field[n]!) ?? 0) + h.self[n]!);
    const size = h.self[n]!;
    total += size;
    parts.set(p, (parts.get(p) ?? 0) + size);
    const c = classes.get(cls) ?? { size: 0, count: 0 };
    c.size += size;
    c.count++;
    classes.set(cls, c);
    if (tracePart && p.startsWith(tracePart) && n !== 0) {
      let chain = cls;
      let at = n;
      for (let d = 0; d < depth && at !== 0; d++) {
        const up = idom[at]!;
        let via = edgeName(up, at);
        if (via === '?') {
          // Held through objects shared with others: name one direct holder, then the dominator.
          const holder = preds[predStart[at]!]!;
          via = `${edgeName(holder, at)} ← ${className(h, holder)} …`;
        }
        chain += ` ${via} ← ${className(h, up)}`;
        if (partOf.has(className(h, up).replace(/^_+/, '').replace(/\d+$/, ''))) break;
        at = up;
      }
      paths.set(chain, (paths.get(chain) ?? 0) + size);
    }
    const pc = partClasses.get(p) ?? new Map<string, number>();
    pc.set(cls, (pc.get(cls) ?? 0) + size);
    partClasses.set(p, pc);
    for (let k = children[n]!; k < children[n + 1]!; k++) {
      const kid = kids[k]!;
      if (own !== undefined) {
        const via = edgeName(n, kid);
        field[kid] = via === '?' ? `${cls} (shared below it)` : `${cls}${via}`;
      }
      stack.push(kid);
    }
  }
  // Retained sizes: children before parents (reverse of the preorder above).
  const retainedOf = new Float64Array(h.count);
  for (let i = visit.length - 1; i >= 0; i--) {
    const n = visit[i]!;
    retainedOf[n]! += h.self[n]!;
    if (n !== 0) retainedOf[idom[n]!]! += retainedOf[n]!;
  }
  const retained = new Map<string, { size: number; count: number }>();
  for (const n of visit) {
    if (n === 0) continue;
    const cls = className(h, n);
    if (cls.startsWith('(')) continue;
    // Count an instance once: not when an instance of the same class dominates it.
    let up = idom[n]!;
    let nested = false;
    for (let d = 0; d < 4 && up !== 0; d++, up = idom[up]!) {
      if (className(h, up) === cls) nested = true;
    }
    if (nested) continue;
    const r = retained.get(cls) ?? { size: 0, count: 0 };
    r.size += retainedOf[n]!;
    r.count++;
    retained.set(cls, r);
  }
  return { total, parts, classes, partClasses, paths, fields, retained };
}

const [fileA, fileB, addedArg] = process.argv.slice(2);
if (!fileA || !fileB || !addedArg) {
  console.error(
    'usage: npx tsx bench/heapBreakdown.ts <a.heapsnapshot> <b.heapsnapshot> <sessions added>',
  );
  process.exit(2);
}
const opt = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const added = Number(addedArg);
const a = breakdown(fileA);
const b = breakdown(fileB);
const kb = (bytes: number) => (bytes / added / 1024).toFixed(1);
const pad = (s: string, n: number) => s.padEnd(n);

console.log(`reachable heap: ${(a.total / 1e6).toFixed(1)} MB → ${(b.total / 1e6).toFixed(1)} MB`);
console.log(`per added session: ${kb(b.total - a.total)} KB\n`);
console.log('| part | KB per session |\n| --- | ---: |');
const partNames = new Set([...a.parts.keys(), ...b.parts.keys()]);
const partRows = [...partNames]
  .map((p) => [p, (b.parts.get(p) ?? 0) - (a.parts.get(p) ?? 0)] as const)
  .sort((x, y) => y[1] - x[1]);
for (const [p, d] of partRows) console.log(`| ${p} | ${kb(d)} |`);

const only = opt('part');
const limit = Number(opt('classes') ?? 30);
for (const [p] of partRows) {
  if (only && !p.startsWith(only)) continue;
  const ca = a.partClasses.get(p) ?? new Map<string, number>();
  const cb = b.partClasses.get(p) ?? new Map<string, number>();
  const names = new Set([...ca.keys(), ...cb.keys()]);
  const rows = [...names]
    .map((c) => [c, (cb.get(c) ?? 0) - (ca.get(c) ?? 0)] as const)
    .filter(([, d]) => Math.abs(d) / added >= 64)
    .sort((x, y) => y[1] - x[1])
    .slice(0, only ? limit : 8);
  if (rows.length === 0) continue;
  console.log(`\n${p}:`);
  for (const [c, d] of rows) console.log(`  ${pad(c, 48)} ${kb(d).padStart(8)} KB`);
}

console.log('\nby the part object and field that holds it (retained), per added session:');
{
  const keys = new Set([...a.fields.keys(), ...b.fields.keys()]);
  const rows = [...keys]
    .map((k) => [k, (b.fields.get(k) ?? 0) - (a.fields.get(k) ?? 0)] as const)
    .sort((x, y) => y[1] - x[1])
    .slice(0, Number(opt('fields') ?? 60));
  for (const [k, d] of rows) console.log(`  ${kb(d).padStart(7)} KB  ${k}`);
}

console.log('\nretained size by constructor, per added session (instances per session):');
{
  const keys = new Set([...a.retained.keys(), ...b.retained.keys()]);
  const rows = [...keys]
    .map((k) => {
      const x = a.retained.get(k) ?? { size: 0, count: 0 };
      const y = b.retained.get(k) ?? { size: 0, count: 0 };
      return [k, y.size - x.size, (y.count - x.count) / added] as const;
    })
    .sort((x, y) => y[1] - x[1])
    .slice(0, Number(opt('retained') ?? 40));
  for (const [k, d, n] of rows)
    console.log(`  ${kb(d).padStart(7)} KB  ${n.toFixed(1).padStart(6)}  ${k}`);
}

const tracePart = opt('paths');
if (tracePart) {
  console.log(`\npaths in ${tracePart} (object, then its dominators), per added session:`);
  const keys = new Set([...a.paths.keys(), ...b.paths.keys()]);
  const rows = [...keys]
    .map((k) => [k, (b.paths.get(k) ?? 0) - (a.paths.get(k) ?? 0)] as const)
    .sort((x, y) => y[1] - x[1])
    .slice(0, limit);
  for (const [k, d] of rows) console.log(`  ${kb(d).padStart(7)} KB  ${k}`);
}

console.log('\nconstructors, self size per added session (objects per session):');
const names = new Set([...a.classes.keys(), ...b.classes.keys()]);
const rows = [...names]
  .map((c) => {
    const x = a.classes.get(c) ?? { size: 0, count: 0 };
    const y = b.classes.get(c) ?? { size: 0, count: 0 };
    return [c, y.size - x.size, (y.count - x.count) / added] as const;
  })
  .sort((x, y) => y[1] - x[1])
  .slice(0, limit);
for (const [c, d, n] of rows) {
  console.log(`  ${pad(c, 48)} ${kb(d).padStart(8)} KB  ${n.toFixed(1).padStart(8)}`);
}
