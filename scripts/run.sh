#!/bin/sh
# Bring up the whole mnemic stack on this machine, from nothing:
# install what is missing, build, install the extension, start a private
# PostgreSQL 15 cluster under .run/ with pg_mnemic preloaded (listener on
# 127.0.0.1:12013/udp), and mnemic-web on http://127.0.0.1:12111/.
# Running it again is harmless: what is already there is left alone.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN="$ROOT/.run"
PGDATA="$RUN/pg"
PG_PORT=${MNEMIC_PG_PORT:-15432}
UDP_PORT=${MNEMIC_UDP_PORT:-12013}
WEB_PORT=${FRONT_END_PORT:-12111}

"$ROOT/scripts/install-deps.sh"
BINDIR=$(pg_config --bindir)
make -C "$ROOT" --no-print-directory all
make -C "$ROOT" --no-print-directory install

# Server programs refuse to run as root: then the cluster belongs to postgres,
# which must be able to reach it through the project's parent folders.
as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
mkdir -p "$RUN"
if [ "$(id -u)" = 0 ]; then
	chown postgres:postgres "$RUN"
	d="$RUN"
	while [ "$d" != / ]; do
		if ! runuser -u postgres -- test -x "$d"; then
			echo "note: letting postgres traverse $d (chmod o+x)"
			chmod o+x "$d"
		fi
		d=$(dirname "$d")
	done
fi

if [ ! -f "$PGDATA/PG_VERSION" ]; then
	as_owner "$BINDIR/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 \
		--locale=C >/dev/null
	cat >> "$PGDATA/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
shared_preload_libraries = 'pg_mnemic'
pg_mnemic.listen_address = '127.0.0.1'
pg_mnemic.port = $UDP_PORT
pg_mnemic.database = 'mnemic'
CONF
fi

if ! as_owner "$BINDIR/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
	as_owner "$BINDIR/pg_ctl" -D "$PGDATA" -l "$RUN/postgresql.log" -w start >/dev/null
fi

PSQL="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres"
if [ "$($PSQL -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = 'mnemic'")" = 0 ]; then
	$PSQL -d postgres -c "CREATE DATABASE mnemic"
fi
$PSQL -d mnemic -c "CREATE EXTENSION IF NOT EXISTS pg_mnemic"
# The web tier logs in as mnemic_web, a member of the read-only mnemic_reader.
if [ "$($PSQL -d mnemic -Atc "SELECT count(*) FROM pg_roles WHERE rolname = 'mnemic_web'")" = 0 ]; then
	$PSQL -d mnemic -c "CREATE ROLE mnemic_web LOGIN IN ROLE mnemic_reader"
fi

WEB_STATUS="mnemic-web is not built (web/mnemic-web missing)"
if [ -x "$ROOT/web/mnemic-web" ]; then
	if [ -f "$RUN/web.pid" ] && kill -0 "$(cat "$RUN/web.pid")" 2>/dev/null; then
		:
	else
		# The local cluster trusts loopback logins.
		POSTGRES_CONN_STR="postgresql://mnemic_web@127.0.0.1:$PG_PORT/mnemic" \
		FRONT_END_PORT=$WEB_PORT \
			nohup "$ROOT/web/mnemic-web" --static "$ROOT/web/static" \
			>"$RUN/web.log" 2>&1 &
		echo $! > "$RUN/web.pid"
		sleep 0.5
	fi
	WEB_STATUS="UI:       http://127.0.0.1:$WEB_PORT/"
fi

# A traced demo program, so a new user sees charts at once; it stops by
# itself after ten minutes.
DEMO_STATUS=""
if [ "${MNEMIC_DEMO:-1}" != 0 ]; then
	if ! { [ -f "$RUN/demo.pid" ] && kill -0 "$(cat "$RUN/demo.pid")" 2>/dev/null; }; then
		PYTHONPATH="$ROOT/dolon" nohup /usr/bin/python3 "$ROOT/examples/demo.py" \
			--port "$UDP_PORT" --seconds 600 >"$RUN/demo.log" 2>&1 &
		echo $! > "$RUN/demo.pid"
	fi
	DEMO_STATUS="demo:     tracer 'demo' sends data for 10 minutes (MNEMIC_DEMO=0 to skip)"
fi

cat <<MSG

mnemic is up.
  listener: udp 127.0.0.1:$UDP_PORT (legacy dolon JSON and binary v1)
  $WEB_STATUS
  $DEMO_STATUS
  SQL:      psql -h 127.0.0.1 -p $PG_PORT -U postgres mnemic
            e.g.  SELECT * FROM mnemic.listener_stats();
                  SELECT * FROM mnemic.samples ORDER BY ts DESC LIMIT 10;
  logs:     $RUN/postgresql.log $RUN/web.log
  stop:     make stop
MSG
