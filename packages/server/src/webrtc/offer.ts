/**
 * Checks a WHEP offer before werift sees it, so a bad offer gets a precise 400 or 422 instead of
 * whatever werift happens to throw. This is inspection, not a full SDP parser.
 */

export class OfferError extends Error {
  override name = 'OfferError';
  constructor(
    readonly kind: 'unparsable' | 'unusable',
    message: string,
  ) {
    super(message);
  }
}

type MediaSection = { kind: string; port: number; lines: string[] };

function sections(sdp: string): { session: string[]; media: MediaSection[] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const media: MediaSection[] = [];
  for (const line of lines) {
    const m = /^m=(\w+) (\d+)/.exec(line);
    if (m) media.push({ kind: m[1]!, port: Number(m[2]), lines: [] });
    else if (media.length > 0) media[media.length - 1]!.lines.push(line);
    else session.push(line);
  }
  return { session, media };
}

function direction(lines: string[]): string {
  const found = lines.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l));
  return found ? found.slice(2) : 'sendrecv';
}

/** Throws an OfferError unless the offer parses and can receive H.264 video from us. */
export function checkOffer(sdp: string): void {
  if (!/^v=0\r?\n/.test(sdp)) {
    throw new OfferError('unparsable', 'the body is not an SDP offer: it must start with "v=0"');
  }
  const { session, media } = sections(sdp);
  if (!session.some((l) => l.startsWith('o=')) || media.length === 0) {
    throw new OfferError(
      'unparsable',
      'the SDP offer has no origin (o=) line or no media (m=) section',
    );
  }
  checkSections(session, media);
  const hasIceCredentials = (lines: string[]) =>
    lines.some((l) => l.startsWith('a=ice-ufrag:')) &&
    lines.some((l) => l.startsWith('a=ice-pwd:'));
  const hasFingerprint = (lines: string[]) => lines.some((l) => l.startsWith('a=fingerprint:'));
  const video = media.filter((m) => m.kind === 'video' && m.port !== 0);
  if (video.length === 0) {
    throw new OfferError(
      'unusable',
      'the offer has no video section: add a recvonly video transceiver',
    );
  }
  const receiving = video.filter((m) => ['recvonly', 'sendrecv'].includes(direction(m.lines)));
  if (receiving.length === 0) {
    throw new OfferError(
      'unusable',
      'the offer does not receive video: its video section must be recvonly or sendrecv',
    );
  }
  const h264 = receiving.find((m) => m.lines.some((l) => /^a=rtpmap:\d+ H264\/90000/i.test(l)));
  if (!h264) {
    throw new OfferError(
      'unusable',
      'the offer has no H.264 codec: this server streams H.264 (constrained baseline, packetization-mode=1)',
    );
  }
  const all = [...session, ...h264.lines];
  if (!hasIceCredentials(all) || !hasFingerprint(all)) {
    throw new OfferError(
      'unparsable',
      'the offer lacks ICE credentials (a=ice-ufrag/a=ice-pwd) or a DTLS fingerprint',
    );
  }
}

/**
 * True when the offer can receive Opus audio from us (an audio section, not rejected, recvonly or
 * sendrecv, with opus/48000/2): the answer then carries our Opus track. Any other audio section
 * is rejected in the answer (port 0), as before.
 */
export function offerReceivesOpus(sdp: string): boolean {
  const { media } = sections(sdp);
  return media.some(
    (m) =>
      m.kind === 'audio' &&
      m.port !== 0 &&
      ['recvonly', 'sendrecv'].includes(direction(m.lines)) &&
      m.lines.some((l) => /^a=rtpmap:\d+ opus\/48000\/2/i.test(l)),
  );
}

/** The media sections an avatar session uses: video now, audio once voice lands, control. */
const ALLOWED_KINDS = ['video', 'audio', 'application'];

/**
 * What an avatar session needs and no more: at most one video, one audio and one data-channel
 * section, bundled on one transport. An offer with hundreds of sections would otherwise make
 * werift open sockets for each and stall every viewer's frames while it does (a security review
 * measured 0.5–0.9 s for 150 sections); it is refused here, before any socket exists.
 */
function checkSections(session: string[], media: MediaSection[]) {
  const help =
    'an avatar session takes one video section, at most one audio and one data channel (application) section, bundled';
  const other = media.find((m) => !ALLOWED_KINDS.includes(m.kind));
  if (other) {
    throw new OfferError('unusable', `the offer has a '${other.kind}' section: ${help}`);
  }
  for (const kind of ALLOWED_KINDS) {
    const count = media.filter((m) => m.kind === kind).length;
    if (count > 1) {
      throw new OfferError('unusable', `the offer has ${count} ${kind} sections: ${help}`);
    }
  }
  if (media.length === 1) return;
  const mids = media.map((m) => m.lines.find((l) => l.startsWith('a=mid:'))?.slice(6));
  const bundle = session
    .filter((l) => l.startsWith('a=group:BUNDLE'))
    .map((l) => l.slice('a=group:BUNDLE'.length).trim().split(/\s+/));
  const bundled = bundle.some((group) => mids.every((mid) => mid && group.includes(mid)));
  if (!bundled) {
    throw new OfferError(
      'unusable',
      `the offer's sections are not bundled: add a=group:BUNDLE with every section's a=mid (RTCPeerConnection bundlePolicy 'balanced' or 'max-bundle'); ${help}`,
    );
  }
}

/**
 * WHEP (draft-ietf-wish-whep §4.5.1) requires `a=rtcp-mux-only` in every m-section that muxes
 * RTCP; werift writes only `a=rtcp-mux`.
 */
export function addRtcpMuxOnly(answer: string): string {
  const eol = answer.includes('\r\n') ? '\r\n' : '\n';
  return answer
    .split(eol)
    .flatMap((line) => (line === 'a=rtcp-mux' ? [line, 'a=rtcp-mux-only'] : [line]))
    .join(eol);
}
