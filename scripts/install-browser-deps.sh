#!/usr/bin/env bash
# Installs what the browser tests (internal/browsertest) need, idempotently:
#   - Debian's chromium (apt; needs root), unless /usr/bin/chromium exists
#   - the Speedscope web app, npm package speedscope@1.25.0 (pinned), into
#     <repo>/.cache/node/node_modules (needs node and npm; installs Debian's
#     nodejs and npm when they are missing and we are root)
# Then prints the environment variables the tests read.
#
# usage: scripts/install-browser-deps.sh        (as root on a fresh Debian)
set -euo pipefail

SPEEDSCOPE_VERSION=1.25.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE_DIR="$ROOT/.cache/node"
RELEASE="$NODE_DIR/node_modules/speedscope/dist/release"

apt_updated=
apt_install() {
	if [ "$(id -u)" != 0 ]; then
		echo "install-browser-deps: missing $*; install these Debian packages as root" >&2
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
	echo "install-browser-deps: installing chromium (apt)"
	apt_install chromium
fi

installed_version() {
	sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NODE_DIR/node_modules/speedscope/package.json" 2>/dev/null | head -1
}

if [ ! -f "$RELEASE/index.html" ] || [ "$(installed_version)" != "$SPEEDSCOPE_VERSION" ]; then
	if ! command -v npm >/dev/null; then
		echo "install-browser-deps: installing nodejs and npm (apt)"
		apt_install nodejs npm
	fi
	echo "install-browser-deps: installing speedscope@$SPEEDSCOPE_VERSION (npm) into $NODE_DIR"
	mkdir -p "$NODE_DIR"
	[ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' >"$NODE_DIR/package.json"
	(cd "$NODE_DIR" && npm install --silent --no-audit --no-fund --save-exact "speedscope@$SPEEDSCOPE_VERSION" >/dev/null)
fi

[ -f "$RELEASE/index.html" ] || {
	echo "install-browser-deps: $RELEASE/index.html still missing" >&2
	exit 1
}

echo "install-browser-deps: ready: $(/usr/bin/chromium --version 2>/dev/null | head -1), speedscope $(installed_version)"
echo "export REQPROF_CHROMIUM=/usr/bin/chromium"
echo "export REQPROF_SPEEDSCOPE=$RELEASE"
