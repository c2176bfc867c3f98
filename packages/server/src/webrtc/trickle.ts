import { AvatarServerError } from '../lib/errors.js';

/** What a WHEP PATCH body (RFC 8840 `application/trickle-ice-sdpfrag`) carries. */
export type SdpFragment = {
  ufrag: string | undefined;
  candidates: Array<{ candidate: string; sdpMid?: string }>;
};

/**
 * Parses an SDP fragment: session-level ICE credentials, then per media section (`m=` / `a=mid:`)
 * its `a=candidate:` lines. Anything else is ignored, as RFC 8840 allows.
 */
export function parseSdpFragment(body: string): SdpFragment {
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  if (!lines.some((l) => l.startsWith('a=') || l.startsWith('m='))) {
    throw new AvatarServerError(
      'bad_request',
      'the PATCH body is not an SDP fragment: send a=ice-ufrag, a=ice-pwd, m=, a=mid and a=candidate lines',
    );
  }
  let ufrag: string | undefined;
  let mid: string | undefined;
  const candidates: SdpFragment['candidates'] = [];
  for (const line of lines) {
    if (line.startsWith('a=ice-ufrag:')) ufrag = line.slice('a=ice-ufrag:'.length);
    else if (line.startsWith('m=')) mid = undefined;
    else if (line.startsWith('a=mid:')) mid = line.slice('a=mid:'.length);
    else if (line.startsWith('a=candidate:')) {
      candidates.push({ candidate: line.slice(2), ...(mid !== undefined ? { sdpMid: mid } : {}) });
    }
  }
  return { ufrag, candidates };
}
