#!/bin/sh
# Stop what scripts/run.sh started; the data stays in .run/ for next time.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN="$ROOT/.run"
for p in demo web; do
	if [ -f "$RUN/$p.pid" ]; then
		kill "$(cat "$RUN/$p.pid")" 2>/dev/null || true
		rm -f "$RUN/$p.pid"
	fi
done
if [ -f "$RUN/pg/PG_VERSION" ]; then
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" -D "$RUN/pg" -m fast stop || true
	else
		"$(pg_config --bindir)/pg_ctl" -D "$RUN/pg" -m fast stop || true
	fi
fi
echo "mnemic stopped (data kept in $RUN)"
