#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server, then removes it.
#
# usage: scripts/with-postgres.sh CMD [ARGS...]
#   e.g. scripts/with-postgres.sh go test ./sqlprof/...
#
# - Finds initdb under /usr/lib/postgresql/*/bin (the newest version); if
#   there is none, installs Debian's postgresql package with apt (as root;
#   otherwise it says what to install and fails).
# - Creates a cluster with initdb in a fresh temporary directory (as the
#   postgres system user when run as root: initdb refuses to run as root),
#   starts it with pg_ctl on a free TCP port of 127.0.0.1, with its Unix
#   socket inside that directory, and creates the database "reqprof".
# - Runs CMD with REQPROF_PG_DSN=postgres://postgres@127.0.0.1:PORT/reqprof?sslmode=disable
#   (and PGHOST, PGPORT, PGUSER, PGDATABASE for psql and friends).
# - Always stops the server and removes the directory when it exits (trap),
#   also on failure or on SIGINT/SIGTERM, and exits with CMD's exit status.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

say() { echo "with-postgres: $*" >&2; }

find_bindir() {
	local d found
	found=$(
		for d in /usr/lib/postgresql/*/bin; do
			if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
				echo "$(basename "$(dirname "$d")") $d"
			fi
		done | sort -V | tail -1 | cut -d' ' -f2-
	)
	[ -n "$found" ] && echo "$found"
}

is_root() { [ "$(id -u)" = 0 ]; }

if ! BINDIR=$(find_bindir); then
	if ! is_root; then
		say "PostgreSQL not found under /usr/lib/postgresql/*/bin; install Debian's postgresql package (as root: apt-get install postgresql)"
		exit 1
	fi
	say "installing Debian's postgresql package (apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
	BINDIR=$(find_bindir) || {
		say "initdb still not found under /usr/lib/postgresql/*/bin after installing postgresql"
		exit 1
	}
fi

# as_pg runs a command as the cluster's owner: the postgres system user when
# we are root, ourselves otherwise.
if is_root; then
	if ! id -u postgres >/dev/null 2>&1; then
		say "running as root, but there is no postgres system user to own the cluster (install Debian's postgresql package)"
		exit 1
	fi
	if command -v runuser >/dev/null; then
		as_pg() { runuser -u postgres -- "$@"; }
	else
		as_pg() { su -s /bin/sh postgres -c "$(printf '%q ' "$@")"; }
	fi
else
	as_pg() { "$@"; }
fi

# The cluster's directory must be reachable by its owner: as root, a TMPDIR
# under /root would not be.
base=${TMPDIR:-/tmp}
if is_root && ! as_pg test -w "$base" -a -x "$base"; then
	base=/tmp
fi

DIR=
STARTED=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [ -n "$STARTED" ]; then
		if ! as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
			as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
		fi
		# last resort: the postmaster's pid, if it still runs
		if [ -f "$DIR/data/postmaster.pid" ]; then
			pid=$(head -1 "$DIR/data/postmaster.pid" 2>/dev/null || true)
			if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
	fi
	if [ -n "$DIR" ] && [ -d "$DIR" ]; then
		rm -rf -- "$DIR"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DIR=$(mktemp -d "$base/reqprof-pg.XXXXXX")
mkdir "$DIR/sock"
if is_root; then
	chown -R postgres: "$DIR"
fi

as_pg "$BINDIR/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log" 2>&1 || {
	cat "$DIR/initdb.log" >&2
	say "initdb failed"
	exit 1
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

PORT=
for attempt in 1 2 3 4 5 6 7 8 9 10; do
	p=$((20000 + RANDOM % 40000))
	port_free "$p" || continue
	if as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $p -k $DIR/sock -c fsync=off -c full_page_writes=off" \
		start >/dev/null 2>&1; then
		PORT=$p
		STARTED=1
		break
	fi
	# Lost a race for the port, or worse: the log says which.
	STARTED=1 # pg_ctl may have left a postmaster behind; cleanup checks
	if ! grep -q "could not bind\|Address already in use" "$DIR/server.log" 2>/dev/null; then
		cat "$DIR/server.log" >&2 || true
		say "pg_ctl start failed"
		exit 1
	fi
	say "port $p was taken (attempt $attempt); trying another"
done
if [ -z "$PORT" ]; then
	cat "$DIR/server.log" >&2 || true
	say "could not start PostgreSQL on a free port"
	exit 1
fi

as_pg "$BINDIR/createdb" -h "$DIR/sock" -p "$PORT" -U postgres reqprof

export REQPROF_PG_DSN="postgres://postgres@127.0.0.1:$PORT/reqprof?sslmode=disable"
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=reqprof
say "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (cluster in $DIR); REQPROF_PG_DSN=$REQPROF_PG_DSN"

# Run CMD in the background with our stdin, so that a SIGINT or SIGTERM sent
# to this script is handled at once (forwarded to CMD, then cleanup).
set +e
"$@" <&0 &
child=$!
# shellcheck disable=SC2317 # called by the INT and TERM traps
forward() {
	kill "-$1" "$child" 2>/dev/null
	wait "$child"
	exit "$2"
}
trap 'forward INT 130' INT
trap 'forward TERM 143' TERM
wait "$child"
status=$?
set -e
exit "$status"
