/**
 * werift has no option for a 1:1 NAT (a cloud VM whose public address is not on any interface),
 * so the address is announced by rewriting the SDP: every IPv4 host candidate gets a twin on the
 * public address and the same port, which is how such NATs forward (docs/werift.md, ICE).
 */
export function announcePublicIp(sdp: string, publicIp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  let foundation = 9000;
  const seen = new Set<string>();
  return sdp
    .split(eol)
    .flatMap((line) => {
      const m = /^a=candidate:\S+ (\d+) (udp|tcp) (\d+) (\d+\.\d+\.\d+\.\d+) (\d+) typ host/i.exec(
        line,
      );
      if (!m || m[4] === publicIp || m[4]!.startsWith('127.')) return [line];
      const [, component, transport, priority, address, port] = m;
      const key = `${component}/${transport}/${port}`;
      if (seen.has(key)) return [line];
      seen.add(key);
      const twin = `a=candidate:${foundation++} ${component} ${transport} ${Number(priority) - 1} ${publicIp} ${port} typ srflx raddr ${address} rport ${port}`;
      return [line, twin];
    })
    .join(eol);
}
