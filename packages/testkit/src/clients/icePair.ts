import { Connection } from 'werift';

/**
 * Two of werift's real ICE agents on this machine, connected by werift's own checks: the
 * controlling one plays the viewer, the controlled one the server. `additionalHostAddresses`
 * (e.g. loopback) gives each agent more host candidates, so several candidate pairs exist.
 */
export async function connectedIcePair(additionalHostAddresses: string[] = []) {
  const options = { useIpv4: true, useIpv6: false, stunServer: undefined, additionalHostAddresses };
  const controlling = new Connection(true, options);
  const controlled = new Connection(false, options);
  await Promise.all([controlling.gatherCandidates(), controlled.gatherCandidates()]);
  controlling.setRemoteParams({
    iceLite: false,
    usernameFragment: controlled.localUsername,
    password: controlled.localPassword,
  });
  controlled.setRemoteParams({
    iceLite: false,
    usernameFragment: controlling.localUsername,
    password: controlling.localPassword,
  });
  for (const c of controlled.localCandidates) await controlling.addRemoteCandidate(c);
  for (const c of controlling.localCandidates) await controlled.addRemoteCandidate(c);
  await controlling.addRemoteCandidate(undefined);
  await controlled.addRemoteCandidate(undefined);
  await Promise.all([controlling.connect(), controlled.connect()]);
  return { controlling, controlled };
}
