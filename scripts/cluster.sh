#!/bin/sh
# Several pg_mnemic nodes and a coordinator on this machine, for trying
# the scale-out path (README, "Beyond one machine"):
#
#   scripts/cluster.sh up N    N nodes (default 3), each a private PostgreSQL
#                              cluster under .run/cluster/ with its own
#                              listener, a coordinator that knows them all,
#                              and mnemic-web on the coordinator
#   scripts/cluster.sh down    stop everything (the data stays)
#   scripts/cluster.sh clean   stop and delete .run/cluster/
#
# Node K listens on 127.0.0.1, port 15440+K for SQL and 12020+K/udp for
# traces; the coordinator on 15440, the UI on http://127.0.0.1:12112/.
# Every port is loopback only and every login is trusted: a trial, not a
# deployment.  Running "up" again starts what is stopped.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN="$ROOT/.run/cluster"
BASE_PG=${MNEMIC_CLUSTER_PG_PORT:-15440}
BASE_UDP=${MNEMIC_CLUSTER_UDP_PORT:-12020}
WEB_PORT=${MNEMIC_CLUSTER_WEB_PORT:-12112}

as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
	pg_config --bindir
}

# Create (once) and start the cluster in $1 on SQL port $2; $3 are extra
# settings lines.
start_cluster() {
	dir=$1 port=$2 settings=$3
	if [ ! -f "$dir/PG_VERSION" ]; then
		mkdir -p "$dir"
		[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
		as_owner "$(bindir)/initdb" -D "$dir" -U postgres -A trust -E UTF8 \
			--locale=C >/dev/null
		printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = ''\n%s\n" \
			"$port" "$settings" >> "$dir/postgresql.auto.conf"
	fi
	if ! as_owner "$(bindir)/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		as_owner "$(bindir)/pg_ctl" -D "$dir" -l "$dir.log" -w start >/dev/null
	fi
	psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc \
		"SELECT 1 FROM pg_database WHERE datname = 'mnemic'" | grep -q 1 ||
		psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE mnemic"
	psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d mnemic \
		-c "CREATE EXTENSION IF NOT EXISTS pg_mnemic"
}

up() {
	count=$1
	"$ROOT/scripts/install-deps.sh"
	make -C "$ROOT" --no-print-directory all
	make -C "$ROOT" --no-print-directory install
	mkdir -p "$RUN"
	if [ "$(id -u)" = 0 ]; then
		chown postgres:postgres "$RUN"
		d="$RUN"
		while [ "$d" != / ]; do
			runuser -u postgres -- test -x "$d" || chmod o+x "$d"
			d=$(dirname "$d")
		done
	fi
	hosts=""
	k=1
	while [ "$k" -le "$count" ]; do
		start_cluster "$RUN/n$k" $((BASE_PG + k)) \
			"shared_preload_libraries = 'pg_mnemic'
pg_mnemic.listen_address = '127.0.0.1'
pg_mnemic.port = $((BASE_UDP + k))
pg_mnemic.database = 'mnemic'"
		hosts="$hosts${hosts:+,}127.0.0.1:$((BASE_UDP + k))"
		k=$((k + 1))
	done
	# the coordinator stores nothing: no listener, the library loads on use
	start_cluster "$RUN/coordinator" "$BASE_PG" ""
	coord="psql -X -q -h 127.0.0.1 -p $BASE_PG -U postgres -d mnemic"
	k=1
	while [ "$k" -le "$count" ]; do
		$coord -Atc "SELECT 1 FROM mnemic.node WHERE name = 'n$k'" | grep -q 1 ||
			$coord -c "SELECT mnemic.add_node('n$k', 'host=127.0.0.1 port=$((BASE_PG + k)) dbname=mnemic user=postgres')"
		k=$((k + 1))
	done
	# The web logs in as postgres: the trial's nodes trust every login, and
	# dblink lets only a superuser reach a node without a password.  A
	# deployment gives the nodes a password and the web a reader role.
	if [ -x "$ROOT/web/mnemic-web" ] && ! { [ -f "$RUN/web.pid" ] &&
		kill -0 "$(cat "$RUN/web.pid")" 2>/dev/null; }; then
		POSTGRES_CONN_STR="postgresql://postgres@127.0.0.1:$BASE_PG/mnemic" \
		FRONT_END_PORT=$WEB_PORT \
			nohup "$ROOT/web/mnemic-web" --static "$ROOT/web/static" \
			>"$RUN/web.log" 2>&1 &
		echo $! > "$RUN/web.pid"
	fi
	cat <<MSG

$count nodes and a coordinator are up.
  nodes:       SQL 127.0.0.1:$((BASE_PG + 1))..$((BASE_PG + count)), traces udp $hosts
  coordinator: psql -h 127.0.0.1 -p $BASE_PG -U postgres mnemic
               SELECT * FROM mnemic.nodes();  SELECT * FROM mnemic.runs();
  UI:          http://127.0.0.1:$WEB_PORT/ (on the coordinator)
  trace:       DOLON_HOST=$hosts python3 -m dolon --tracer demo your_script.py
  stop:        scripts/cluster.sh down
MSG
}

down() {
	if [ -f "$RUN/web.pid" ]; then
		kill "$(cat "$RUN/web.pid")" 2>/dev/null || true
		rm -f "$RUN/web.pid"
	fi
	for dir in "$RUN"/coordinator "$RUN"/n*; do
		[ -f "$dir/PG_VERSION" ] || continue
		as_owner "$(bindir)/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
	done
	echo "cluster stopped (data kept in $RUN)"
}

case "${1:-}" in
up)
	n=${2:-3}
	case "$n" in
	'' | *[!0-9]* | 0) echo "usage: $0 up N (N >= 1)" >&2; exit 2 ;;
	esac
	up "$n"
	;;
down) down ;;
clean) down; rm -rf "$RUN"; echo "removed $RUN" ;;
*) echo "usage: $0 up N | down | clean" >&2; exit 2 ;;
esac
