#!/usr/bin/env bash
# Checks, and on CI installs, what the tests need. One function per
# dependency: add new ones (a browser, a database) the same way and call
# them at the bottom.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

# apt_install installs Debian packages, on CI only (as root); elsewhere it
# says what is missing and fails.
apt_install() {
	if [ "${CI:-}" = "true" ] && [ "$(id -u)" = 0 ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
	else
		echo "missing: install the Debian packages $*" >&2
		exit 1
	fi
}

# Go, at least the version go.mod asks for, and the modules it lists.
need_go() {
	if ! command -v go >/dev/null; then
		echo "missing: Go (expected at /usr/local/go/bin)" >&2
		exit 1
	fi
	local want have
	want=$(awk '$1 == "go" { print $2; exit }' go.mod)
	have=$(go env GOVERSION)
	have=${have#go}
	if ! printf '%s\n%s\n' "$want" "$have" | sort -V -C; then
		echo "Go $have is too old: go.mod needs $want or later" >&2
		exit 1
	fi
	echo "go $have (go.mod: $want)"
	go mod download
}

# A C compiler: go test -race needs cgo.
need_cc() {
	if ! command -v gcc >/dev/null; then
		apt_install gcc libc6-dev
	fi
	gcc --version | sed -n 1p
}

# Chromium and the Speedscope web app, for the tests that open our files in
# the real tools (internal/browsertest). Installed on CI; elsewhere those
# tests skip and say how to enable them.
need_browser() {
	if [ "${CI:-}" = "true" ]; then
		bash scripts/install-browser-deps.sh
	elif [ ! -x /usr/bin/chromium ] || [ ! -f .cache/node/node_modules/speedscope/dist/release/index.html ]; then
		echo "note: browser tests will skip; run scripts/install-browser-deps.sh (as root) to enable them"
	fi
}

# Jaeger, for the OpenTelemetry end-to-end test (contrib/otel), built from
# the Go module proxy by scripts/jaeger.sh. Built on CI; elsewhere the test
# skips and says how to enable it.
need_jaeger() {
	if [ "${CI:-}" = "true" ]; then
		bash scripts/jaeger.sh
	elif [ ! -x .cache/jaeger/jaeger ] && [ -z "${REQPROF_JAEGER:-}" ]; then
		echo "note: the Jaeger test will skip; run scripts/jaeger.sh to enable it"
	fi
}

need_go
need_cc
need_browser
need_jaeger
