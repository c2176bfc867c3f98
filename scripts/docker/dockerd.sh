#!/usr/bin/env bash
# Makes sure a Docker engine answers: uses the running one, or starts Debian's dockerd the way it
# works on machines without a bridge or iptables (CI, containers): no iptables, no bridge, vfs
# storage. Containers then use the host's network (`--network host`).
#   scripts/docker/dockerd.sh          # prints nothing when the engine already runs
set -euo pipefail
cd "$(dirname "$0")/../.."

if docker info >/dev/null 2>&1; then exit 0; fi
command -v dockerd >/dev/null || {
  echo "dockerd.sh: no dockerd: install Debian's docker.io (apt-get install docker.io)" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || { echo "dockerd.sh: starting dockerd needs root" >&2; exit 1; }

mkdir -p .cache/docker
log=.cache/docker/dockerd.log
echo "dockerd.sh: starting dockerd (log: $log)"
nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs >"$log" 2>&1 &
echo $! >.cache/docker/dockerd.pid
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd.sh: dockerd did not answer within 60 s; its log ends with:" >&2
tail -n 20 "$log" >&2
exit 1
