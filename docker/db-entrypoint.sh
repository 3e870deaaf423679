#!/bin/sh
# First start: create the cluster with pg_mnemic preloaded, listening for
# the web container and for dolon's datagrams; then run PostgreSQL.
set -eu

if [ ! -f "$PGDATA/PG_VERSION" ]; then
	initdb -D "$PGDATA" -U postgres -A peer -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >> "$PGDATA/postgresql.auto.conf" <<CONF
listen_addresses = '*'
shared_preload_libraries = 'pg_mnemic'
pg_mnemic.listen_address = '0.0.0.0'
pg_mnemic.port = 12013
pg_mnemic.database = 'mnemic'
CONF
	# The web tier logs in as mnemic_web, a member of the read-only group
	# mnemic_reader, from the compose network; every other remote login
	# needs a password (set one with ALTER ROLE).
	cat >> "$PGDATA/pg_hba.conf" <<HBA
host mnemic mnemic_web samenet trust
host all all 127.0.0.1/32 trust
host all all all scram-sha-256
HBA
	pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
	psql -X -q -d postgres -c "CREATE DATABASE mnemic"
	psql -X -q -d mnemic -c "CREATE EXTENSION pg_mnemic"
	psql -X -q -d mnemic -c "CREATE ROLE mnemic_web LOGIN IN ROLE mnemic_reader"
	pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
fi
exec postgres -D "$PGDATA"
