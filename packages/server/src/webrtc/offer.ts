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
