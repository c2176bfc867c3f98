#!/usr/bin/env bash
# Installs Avatar Server as a systemd service, as the original install.sh did: a system user,
# /opt/avatar-server with its videos folder, the config, the service. Run from a checkout:
#   sudo ./deploy/install.sh
# Re-running it upgrades the code and keeps videos/, config.yaml and the cache.
set -euo pipefail

PREFIX=/opt/avatar-server
SERVICE_USER=avatar
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ $EUID -ne 0 ]]; then
  echo "install.sh: run as root (sudo ./deploy/install.sh)" >&2
  exit 1
fi
if ! command -v node >/dev/null || [[ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]]; then
  echo "install.sh: Node.js 22 or later is needed (Debian/Ubuntu: https://deb.nodesource.com or apt-get install nodejs)" >&2
  exit 1
fi
if ! command -v ffmpeg >/dev/null; then
  echo "install.sh: installing ffmpeg"
  apt-get update -q && apt-get install -y -q ffmpeg
fi

id -u "$SERVICE_USER" >/dev/null 2>&1 ||
  useradd --system --home-dir "$PREFIX" --shell /usr/sbin/nologin "$SERVICE_USER"
# The service user may use the GPU (NVENC) where one exists.
getent group video >/dev/null && usermod -aG video "$SERVICE_USER"

mkdir -p "$PREFIX/videos" "$PREFIX/.cache" "$PREFIX/app"
echo "install.sh: copying the application to $PREFIX/app"
tar -C "$SRC" --exclude=node_modules --exclude=.git --exclude=.cache -cf - . | tar -C "$PREFIX/app" -xf -
# The server, the SDK and the demo page it serves at /.
(cd "$PREFIX/app" && npm ci --no-audit --no-fund && npm run build)

if [[ ! -f "$PREFIX/config.yaml" ]]; then
  cp "$PREFIX/app/packages/server/config.example.yaml" "$PREFIX/config.yaml"
  sed -i "s|^videosDir: .*|videosDir: $PREFIX/videos|; s|^cacheDir: .*|cacheDir: $PREFIX/.cache/avatars|" "$PREFIX/config.yaml"
fi
chown -R "$SERVICE_USER:$SERVICE_USER" "$PREFIX"

# The unit names the node found here (nvm, /usr/local/bin and Debian's /usr/bin all work).
sed "s|/usr/bin/node |$(command -v node) |" "$SRC/deploy/avatar-server.service" >/etc/systemd/system/avatar-server.service
chmod 0644 /etc/systemd/system/avatar-server.service
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
else
  echo "install.sh: systemd is not running here: the unit is installed but not loaded"
fi

echo
echo "Installed. Next:"
echo "  1. copy your clips:  scp jesus_gestos.mp4 jesus_reposo.mp4 server:$PREFIX/videos/"
echo "  2. check:            sudo -u $SERVICE_USER node $PREFIX/app/packages/server/dist/cli.js doctor --config $PREFIX/config.yaml"
echo "  3. start:            sudo systemctl enable --now avatar-server"
echo "  4. logs:             journalctl -u avatar-server -f"
