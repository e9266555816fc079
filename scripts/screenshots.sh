#!/usr/bin/env bash
# Regenerates docs/ui-route-demo.png, the README's picture of the UI's route
# page, from real data: it builds the reqprof command, runs its demo (the
# characters API on SQLite) with per-route sampling into a temporary
# directory, sends 60 requests of GET /characters/{id} with mixed ids (every
# tenth one asks for a profile, the others are sampled), and photographs
# /debug/reqprof/route?route=GET+/characters/{id} in headless Chromium
# ($REQPROF_CHROMIUM, or chromium / chromium-browser / google-chrome on
# PATH). Needs curl. Usage:
#
#	scripts/screenshots.sh [OUT.png]    # default docs/ui-route-demo.png
#
# The picture changes with every run (latencies, ids, the machine).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
out=${1:-docs/ui-route-demo.png}
case $out in /*) ;; *) out=$PWD/$out ;; esac

chromium=${REQPROF_CHROMIUM:-}
if [ -z "$chromium" ]; then
	for c in chromium chromium-browser google-chrome; do
		if command -v "$c" >/dev/null; then chromium=$(command -v "$c"); break; fi
	done
fi
[ -n "$chromium" ] || { echo "screenshots: no Chromium (set REQPROF_CHROMIUM)" >&2; exit 1; }
command -v curl >/dev/null || { echo "screenshots: curl is needed" >&2; exit 1; }

tmp=$(mktemp -d)
demo=
cleanup() {
	if [ -n "$demo" ]; then kill "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd cmd/reqprof && go build -o "$tmp/reqprof" .)
# Port 0: the kernel picks a free one, and the demo prints its address.
"$tmp/reqprof" demo --addr 127.0.0.1:0 --sample 6000 --dir "$tmp/profiles" --db "file:$tmp/demo.db" >"$tmp/demo.log" 2>&1 &
demo=$!
base=
for _ in $(seq 150); do
	base=$(sed -n 's|^Listening on \(http://[^ ]*\)/$|\1|p' "$tmp/demo.log")
	[ -n "$base" ] && break
	kill -0 "$demo" 2>/dev/null || break
	sleep 0.2
done
[ -n "$base" ] || { cat "$tmp/demo.log" >&2; exit 1; }
curl -fsS -o /dev/null "$base/characters/1" || { cat "$tmp/demo.log" >&2; exit 1; }

# 60 requests: ids spread over the 1,000 characters; every tenth asks for
# its profile (reason "requested"), the others are sampled (--sample 6000:
# one every 10ms of the route at most, and they come 50ms apart). The first
# request above warmed the database up (and is sampled too).
for i in $(seq 60); do
	id=$(( (i * 167) % 1000 + 1 ))
	q=
	[ $((i % 10)) -eq 0 ] && q='?profile=true'
	curl -fsS -o /dev/null "$base/characters/$id$q"
	sleep 0.05
done
# Profiles are stored in the background: wait until the list holds 61.
for _ in $(seq 100); do
	n=$(ls "$tmp/profiles" | grep -c '\.reqprof$' || true)
	[ "$n" -ge 61 ] && break
	sleep 0.2
done
echo "screenshots: $n profiles stored" >&2

"$chromium" --headless --disable-gpu --no-sandbox --hide-scrollbars --force-device-scale-factor=1 \
	--window-size=1280,1300 --virtual-time-budget=20000 \
	--screenshot="$out" "$base/debug/reqprof/route?route=GET+/characters/%7Bid%7D" 2>"$tmp/chromium.log" ||
	{ cat "$tmp/chromium.log" >&2; exit 1; }
echo "screenshots: $out ($(wc -c <"$out") bytes)" >&2
