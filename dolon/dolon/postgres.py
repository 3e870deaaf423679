"""PostgresDiagnostics: PostgreSQL statistics as profiler functions.

    async with PostgresDiagnostics(conn_str="postgresql://...") as pg:
        await start_tracer("app", 1, host, port, pg.idle, pg.live_msgs)

One libpq connection (libpq.so.5 is loaded from the C core on first use, so
dolon imports without it).  Connecting and querying never block: libpq runs
in non-blocking mode and we await the connection's socket through
loop.add_reader/add_writer, so the event loop never stalls on the database.  The members read
one snapshot of all statistics per tick: the first one called in a tick
runs the single query, the others reuse its answer.
"""
import asyncio

from dolon import _core

# One query for every statistic, in the order of _FIELDS.
SNAPSHOT_SQL = """
SELECT
  (SELECT count(*) FROM pg_stat_activity WHERE state = 'idle'),
  (SELECT coalesce(sum(numbackends), 0) FROM pg_stat_database),
  (SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables),
  (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables),
  (SELECT 100.0 * sum(blks_hit) / nullif(sum(blks_hit + blks_read), 0)
     FROM pg_stat_database),
  (SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0)
     FROM pg_stat_activity
    WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()),
  (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock')
"""
_FIELDS = ("idle", "count_db_connections", "live_msgs", "dead_msgs",
           "cache_hit_ratio", "longest_transaction", "lock_waiters")

# A snapshot younger than this is reused (all members of one tick).
SNAPSHOT_MAX_AGE_S = 0.25
# After losing the connection, try again at most this often.
RECONNECT_EVERY_S = 5.0
CONNECT_TIMEOUT_S = 10.0


class PostgresDiagnostics:
    """Wraps PostgreSQL diagnostics within an async context manager.

    :ivar str conn_str: The connection string (URI or key=value) of the
        database.
    """

    def __init__(self, conn_str):
        self.conn_str = conn_str
        self._conn = None
        self._entered = False
        self._connect_tried_at = None
        self._snapshot = None
        self._taken_at = None
        self._inflight = None

    async def __aenter__(self):
        await self._connect()
        self._entered = True
        return self

    async def __aexit__(self, exc_type, exc, tb):
        self._entered = False
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
        self._close()

    async def _connect(self):
        loop = asyncio.get_running_loop()
        self._connect_tried_at = loop.time()
        conn = _core.PgConnection()
        conn.connect_start(self.conn_str)
        try:
            # libpq ignores connect_timeout in non-blocking mode
            await asyncio.wait_for(_connect_steps(loop, conn),
                                   CONNECT_TIMEOUT_S)
        except asyncio.TimeoutError:
            conn.close()
            raise ConnectionError("cannot connect to PostgreSQL: no answer "
                                  "within %g s" % CONNECT_TIMEOUT_S) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _connection(self):
        """The connection, made again (at most every RECONNECT_EVERY_S)
        after it was lost."""
        if not self._entered:
            raise RuntimeError("PostgresDiagnostics must be used as "
                               "'async with PostgresDiagnostics(...)'")
        if self._conn is None:
            loop = asyncio.get_running_loop()
            if loop.time() - self._connect_tried_at < RECONNECT_EVERY_S:
                raise ConnectionError("PostgreSQL connection lost; "
                                      "reconnecting soon")
            await self._connect()
        return self._conn

    async def _query(self, sql):
        loop = asyncio.get_running_loop()
        conn = await self._connection()
        try:
            return await self._query_on(loop, conn, sql)
        except ConnectionError:
            self._close()
            raise

    async def _query_on(self, loop, conn, sql):
        fd = conn.socket
        try:
            if conn.send_query(sql):
                while conn.flush():
                    await _wait(loop, fd, loop.add_writer, loop.remove_writer)
            while True:
                row = conn.read_result()
                if row is not None:
                    return row
                await _wait(loop, fd, loop.add_reader, loop.remove_reader)
        except asyncio.CancelledError:
            # the connection is mid-query; start afresh next time
            self._close()
            raise

    async def snapshot(self):
        """All statistics at once: a dict field -> value."""
        loop = asyncio.get_running_loop()
        if (self._snapshot is not None
                and loop.time() - self._taken_at < SNAPSHOT_MAX_AGE_S):
            return self._snapshot
        if self._inflight is None or self._inflight.done():
            self._inflight = loop.create_task(self._take_snapshot())
        return await asyncio.shield(self._inflight)

    async def _take_snapshot(self):
        row = await self._query(SNAPSHOT_SQL)
        self._snapshot = dict(zip(_FIELDS, row))
        self._taken_at = asyncio.get_running_loop().time()
        return self._snapshot

    async def idle(self):
        """Sessions in state idle (pg_stat_activity)."""
        return (await self.snapshot())["idle"]

    async def count_db_connections(self):
        """Backends connected, all databases (sum of numbackends)."""
        return (await self.snapshot())["count_db_connections"]

    async def live_msgs(self):
        """Live rows in user tables (sum of n_live_tup)."""
        return (await self.snapshot())["live_msgs"]

    async def dead_msgs(self):
        """Dead rows in user tables (sum of n_dead_tup)."""
        return (await self.snapshot())["dead_msgs"]

    async def cache_hit_ratio(self):
        """Shared-buffer hits, % of block reads, all databases."""
        return (await self.snapshot())["cache_hit_ratio"]

    async def longest_transaction(self):
        """Seconds the oldest open transaction (other than ours) has run."""
        return (await self.snapshot())["longest_transaction"]

    async def lock_waiters(self):
        """Sessions waiting for a lock."""
        return (await self.snapshot())["lock_waiters"]


async def _connect_steps(loop, conn):
    wait = "write"
    while wait != "ok":
        if wait == "read":
            await _wait(loop, conn.socket, loop.add_reader, loop.remove_reader)
        else:
            await _wait(loop, conn.socket, loop.add_writer, loop.remove_writer)
        wait = conn.connect_poll()


async def _wait(loop, fd, add, remove):
    future = loop.create_future()

    def ready():
        if not future.done():
            future.set_result(None)

    add(fd, ready)
    try:
        await future
    finally:
        remove(fd)
