/**
 * Candidate pairs one peer may check. Every pair is a local address × an address the client
 * named, and werift (0.25.2, ice/src/ice.js) checks each one: it starts one new check every
 * 20 ms (its Ta) and sends each check's STUN request up to 5 times (RTO 50 ms, doubling). So a
 * session makes at most 5 × MAX_CANDIDATE_PAIRS requests to client-named addresses, at ICE's own
 * pace; pairs beyond the cap are never formed. A browser needs a few: one per interface pairing.
 */
export const MAX_CANDIDATE_PAIRS = 64;

/** STUN requests werift sends per check (the request and 4 retransmissions). */
export const REQUESTS_PER_CHECK = 5;

/** werift's `iceFilterCandidatePair`: admits the first `max` pairs of a peer, refuses the rest. */
export function limitCandidatePairs(max = MAX_CANDIDATE_PAIRS): () => boolean {
  let formed = 0;
  return () => {
    if (formed >= max) return false;
    formed++;
    return true;
  };
}
