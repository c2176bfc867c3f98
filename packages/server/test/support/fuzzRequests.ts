import fc from 'fast-check';

/**
 * Generated hostile requests for the fuzz test: SDP offers mutated from a real one (dropped,
 * duplicated, swapped, truncated and corrupted lines, SDP-looking lines that make no sense) and
 * random bodies for every other route. A request is data; `fuzz.int.test.ts` sends it.
 */

export type FuzzRequest = {
  method: string;
  /** `{session}` is replaced by a live session's path, `{other}` by a random id. */
  path: string;
  contentType: string | undefined;
  body: string | undefined;
  ifMatch?: string;
};

/** SDP lines that parse as SDP but mean odd or contradictory things. */
const SDP_LINES = [
  'v=1',
  'o=- 0 0 IN IP4 0.0.0.0',
  'o=',
  's=',
  't=0 0',
  'c=IN IP6 ::1',
  'c=IN IP4 999.999.999.999',
  'm=video 9 UDP/TLS/RTP/SAVPF 97',
  'm=video 0 UDP/TLS/RTP/SAVPF 97',
  'm=video 65536 UDP/TLS/RTP/SAVPF 300',
  'm=video 9 RTP/AVP 97',
  'm=video 9 UDP/TLS/RTP/SAVPF',
  'm=video 9 UDP/TLS/RTP/SAVPF 97 97 97',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'm=application 0 UDP/DTLS/SCTP webrtc-datachannel',
  'm=text 9 RTP/AVP 0',
  'm=',
  'a=rtpmap:97 H264/90000',
  'a=rtpmap:97 H264',
  'a=rtpmap:97 h264/90000/2',
  'a=rtpmap:98 VP8/90000',
  'a=rtpmap:99 rtx/90000',
  'a=fmtp:99 apt=97',
  'a=fmtp:99 apt=1000',
  'a=rtpmap:111 opus/48000/2',
  'a=rtpmap:-1 H264/90000',
  'a=rtpmap:97 H264/0',
  'a=fmtp:97 profile-level-id=42e01f;packetization-mode=1',
  'a=fmtp:97 profile-level-id=zzzzzz;packetization-mode=9',
  'a=fmtp:97',
  'a=fmtp:97 ;;;=;',
  'a=rtcp-fb:97 nack',
  'a=rtcp-fb:97 ccm fir',
  'a=rtcp-fb:* transport-cc',
  'a=recvonly',
  'a=sendonly',
  'a=sendrecv',
  'a=inactive',
  'a=mid:0',
  'a=mid:',
  'a=mid:0 1',
  'a=group:BUNDLE 0 1 2',
  'a=group:BUNDLE',
  'a=group:BUNDLE 7',
  'a=ice-ufrag:',
  'a=ice-ufrag:x',
  'a=ice-pwd:',
  'a=ice-pwd:short',
  'a=ice-lite',
  'a=fingerprint:sha-256 00',
  'a=fingerprint:md5 AA:BB',
  'a=fingerprint:',
  'a=setup:passive',
  'a=setup:active',
  'a=setup:holdconn',
  'a=setup:',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtcp:0 IN IP4 0.0.0.0',
  'a=ssrc:0 cname:x',
  'a=ssrc:4294967296 cname:x',
  'a=ssrc:abc',
  'a=ssrc-group:FID 1',
  'a=ssrc-group:SIM 1 2 3',
  'a=msid:- -',
  'a=msid-semantic:WMS',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:15 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:0 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:300 urn:x',
  'a=extmap:',
  'a=extmap-allow-mixed',
  'a=sctp-port:-1',
  'a=sctp-port:5000',
  'a=max-message-size:abc',
  'a=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host',
  'a=candidate:1 1 udp 1 999.1.1.1 99999 typ host',
  'a=candidate:x',
  'a=candidate:1 1 tcp 1 127.0.0.1 9 typ srflx raddr 0.0.0.0 rport 0',
  'a=end-of-candidates',
  'a=simulcast:recv 0;1',
  'a=rid:0 recv',
  'a=',
  '=',
  'a=x:'.padEnd(2000, 'x'),
];

const sdpLine = fc.constantFrom(...SDP_LINES);

/** One edit to a list of SDP lines. */
const lineEdit = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), line: sdpLine }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), line: sdpLine }),
  fc.record({
    op: fc.constant('garble' as const),
    at: fc.nat(),
    char: fc.nat(),
    text: fc.string(),
  }),
  fc.record({
    op: fc.constant('random' as const),
    at: fc.nat(),
    line: fc.string({ unit: 'binary' }),
  }),
);
type LineEdit = typeof lineEdit extends fc.Arbitrary<infer T> ? T : never;

function applyEdit(lines: string[], edit: LineEdit): string[] {
  if (lines.length === 0) return lines;
  const out = [...lines];
  const at = edit.at % out.length;
  switch (edit.op) {
    case 'drop':
      out.splice(at, 1);
      break;
    case 'duplicate':
      out.splice(at, 0, out[at]!);
      break;
    case 'swap': {
      const other = edit.with % out.length;
      [out[at], out[other]] = [out[other]!, out[at]!];
      break;
    }
    case 'insert':
      out.splice(at, 0, edit.line);
      break;
    case 'replace':
      out[at] = edit.line;
      break;
    case 'garble': {
      const line = out[at]!;
      const i = edit.char % (line.length + 1);
      out[at] = line.slice(0, i) + edit.text + line.slice(i + 1);
      break;
    }
    case 'random':
      out[at] = edit.line;
      break;
  }
  return out;
}

/** A valid offer with 1–6 edits, sometimes truncated or with bare `\n` line ends. */
export function mutatedOffer(valid: string): fc.Arbitrary<string> {
  const base = valid.split('\r\n').filter((l) => l.length > 0);
  return fc
    .record({
      edits: fc.array(lineEdit, { minLength: 1, maxLength: 6 }),
      eol: fc.constantFrom('\r\n', '\r\n', '\n', '\r'),
      truncate: fc.option(fc.nat(), { freq: 5 }),
    })
    .map(({ edits, eol, truncate }) => {
      const text = edits.reduce(applyEdit, base).join(eol) + eol;
      return truncate === null ? text : text.slice(0, truncate % (text.length + 1));
    });
}

/** SDP assembled from odd lines only (no valid offer underneath). */
export const synthesizedOffer: fc.Arbitrary<string> = fc
  .array(sdpLine, { minLength: 1, maxLength: 30 })
  .map((lines) => `v=0\r\n${lines.join('\r\n')}\r\n`);

const contentType = fc.constantFrom(
  'application/sdp',
  'application/sdp',
  'application/sdp; charset=utf-8',
  'application/json',
  'application/trickle-ice-sdpfrag',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '*/*',
  'application/',
  undefined,
);

/** JSON values and near-JSON text, for the speaking, /streams and answer routes. */
const jsonishBody = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify({ speaking: v })),
  fc
    .record(
      {
        video_id: fc.oneof(fc.string(), fc.constantFrom('default', 'x_default', '../etc', '')),
        portrait_id: fc.string(),
        gesture_video: fc.constantFrom('/etc/passwd', '../../x.mp4', 'nope.mp4', '', 'default'),
        idle_video: fc.constantFrom('/etc/passwd', '../../x.mp4', 'nope.mp4', '', 'default'),
        use_ai: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '{"speaking":', 'null', '[]', '"', '{"__proto__":{"x":1}}'),
);

/** RFC 8840 fragments, plausible and not. */
const sdpFragment = fc
  .array(
    fc.oneof(
      sdpLine,
      fc.constantFrom('a=ice-ufrag:{ufrag}', 'a=ice-pwd:x', 'm=video 9 UDP/TLS/RTP/SAVPF 0'),
      fc.string(),
    ),
    { maxLength: 12 },
  )
  .map((lines) => lines.join('\r\n'));

const ids = fc.oneof(
  fc.constantFrom('default', 'x_default', 'nobody', '..', '%2e%2e'),
  fc.string(),
);
const pathPart = ids.map((s) => encodeURIComponent(s) || 'x');

export function fuzzRequest(valid: string): fc.Arbitrary<FuzzRequest> {
  const offer = fc.oneof(
    { weight: 6, arbitrary: mutatedOffer(valid) },
    { weight: 2, arbitrary: synthesizedOffer },
    { weight: 1, arbitrary: fc.constant(valid) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
  );
  const ifMatch = fc.option(fc.constantFrom('*', '"stale"', '"', 'W/"x"', ''), { nil: undefined });
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        path: pathPart.map((id) => `/whep/avatars/${id}`),
        contentType,
        body: offer,
      }),
    },
    {
      weight: 10,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/whep/avatars/default'),
        contentType: fc.constant('application/sdp'),
        body: offer,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        method: fc.constant('PATCH'),
        path: fc.constantFrom('{session}', '{other}'),
        contentType,
        body: sdpFragment,
        ifMatch,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        method: fc.constant('DELETE'),
        path: fc.constantFrom('{other}', '{other}/speaking'),
        contentType,
        body: fc.constant(undefined),
        ifMatch,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        path: fc.constantFrom('{session}/speaking', '{other}/speaking'),
        contentType,
        body: jsonishBody,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/streams'),
        contentType,
        body: jsonishBody,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        method: fc.constant('POST'),
        path: fc.constantFrom('/streams/{other}/answer'),
        contentType,
        body: fc.oneof(jsonishBody, offer),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        method: fc.constantFrom('GET', 'PUT', 'HEAD', 'OPTIONS', 'PATCH', 'DELETE', 'POST'),
        path: fc.oneof(
          fc.constantFrom(
            '/whep/avatars/default',
            '{other}',
            '/streams',
            '/health',
            '/status',
            '/avatars',
            '/openapi.json',
          ),
          pathPart.map((p) => `/${p}`),
        ),
        contentType,
        body: fc.option(fc.string(), { nil: undefined }),
      }),
    },
  );
}
