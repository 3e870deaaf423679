"""PostgresDiagnostics against a real PostgreSQL 15 (regress/pgtemp), each
figure checked against the same statistics read with psycopg2."""
import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import DOLON_ROOT, until_ticked, wait_until
from dolon import trace_client
from dolon.trace_client import PostgresDiagnostics

pgtemp = pytest.importorskip("pgtemp")


@pytest.fixture(scope="module")
def cluster():
    # plain PostgreSQL: these tests are about libpq, not about pg_mnemic
    c = pgtemp.TempCluster(settings={"shared_preload_libraries": "''"},
                           create_extension=False, dbname="diag")
    c.start()
    try:
        c.query("CREATE TABLE msgs (id int PRIMARY KEY, body text)")
        c.query("INSERT INTO msgs SELECT g, 'x' FROM generate_series(1, 500) g")
        c.query("DELETE FROM msgs WHERE id <= 120")
        yield c
    finally:
        c.stop()


def independent(cluster, sql):
    cluster.query("SELECT pg_stat_force_next_flush()")
    return float(cluster.query(sql)[0][0] or 0)


def test_import_does_not_load_libpq():
    code = ("import dolon, dolon.trace_client; "
            "print('libpq' in open('/proc/self/maps').read())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=dict(os.environ,
                                             PYTHONPATH=DOLON_ROOT))
    assert out.stdout.strip() == "False", out.stderr


def test_counts_match_the_statistics_views(cluster):
    idle_conn = cluster.connect()       # one session sitting idle
    try:
        async def main():
            async with PostgresDiagnostics(conn_str=cluster.dsn) as pg:
                return {f: await getattr(pg, f)() for f in (
                    "idle", "count_db_connections", "live_msgs", "dead_msgs",
                    "cache_hit_ratio", "longest_transaction", "lock_waiters")}

        deadline = time.monotonic() + 10
        while True:
            got = asyncio.run(main())
            live = independent(cluster, "SELECT sum(n_live_tup) FROM "
                               "pg_stat_user_tables")
            if got["live_msgs"] == live or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got["live_msgs"] == live == 380
        assert got["dead_msgs"] == independent(
            cluster, "SELECT sum(n_dead_tup) FROM pg_stat_user_tables") == 120
        assert got["idle"] >= 1
        # our own session is active while it asks, the other is idle
        assert got["count_db_connections"] >= 2
        assert 0 <= got["cache_hit_ratio"] <= 100
        assert got["longest_transaction"] >= 0
        assert got["lock_waiters"] == 0
    finally:
        idle_conn.close()


def test_long_transaction_and_lock_waiter(cluster):
    holder = cluster.connect()
    holder.autocommit = False
    waiter_done = threading.Event()

    def wait_for_lock():
        c = cluster.connect()
        try:
            c.cursor().execute("LOCK TABLE msgs IN ACCESS EXCLUSIVE MODE")
            c.rollback()
        finally:
            c.close()
            waiter_done.set()

    holder.cursor().execute("LOCK TABLE msgs IN ACCESS EXCLUSIVE MODE")
    holder_pid = holder.get_backend_pid()
    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    try:
        # the waiter has connected and sleeps in the lock's queue ...
        queued = ("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                  "USING (pid) WHERE l.relation = 'msgs'::regclass "
                  "AND NOT l.granted AND a.wait_event_type = 'Lock'")
        assert wait_until(lambda: cluster.query(queued)[0][0] == 1,
                          timeout=20), "the waiter never queued on the lock"
        # ... and the holder's transaction has been open half a second
        age = ("SELECT extract(epoch FROM clock_timestamp() - xact_start) "
               "FROM pg_stat_activity WHERE pid = %s")
        assert wait_until(lambda: cluster.query(age, (holder_pid,))[0][0]
                          >= 0.5, timeout=20)

        async def main():
            async with PostgresDiagnostics(conn_str=cluster.uri()) as pg:
                return (await pg.lock_waiters(),
                        await pg.longest_transaction())

        waiters, longest = asyncio.run(main())
        assert waiters == 1
        assert longest >= 0.5
    finally:
        holder.rollback()
        holder.close()
        thread.join(10)
    assert waiter_done.is_set()


def test_queries_do_not_block_the_event_loop(cluster):
    async def main():
        beats = 0

        async def heartbeat():
            nonlocal beats
            while True:
                await asyncio.sleep(0.01)
                beats += 1

        async with PostgresDiagnostics(conn_str=cluster.dsn) as pg:
            hb = asyncio.ensure_future(heartbeat())
            await asyncio.sleep(0.02)
            before = beats
            row = await pg._query("SELECT pg_sleep(0.5), 42")
            during = beats - before
            hb.cancel()
        return row, during

    row, during = asyncio.run(main())
    assert row == [None, 42.0]
    assert during >= 10         # the loop kept running (blocked: 0 or 1)


def test_members_share_one_snapshot_per_tick(cluster):
    async def main():
        async with PostgresDiagnostics(conn_str=cluster.dsn) as pg:
            calls = []
            real = pg._query

            async def counting(sql):
                calls.append(sql)
                return await real(sql)

            pg._query = counting
            await asyncio.gather(pg.idle(), pg.live_msgs(), pg.dead_msgs())
            await pg.count_db_connections()
            return len(calls)

    assert asyncio.run(main()) == 1


def test_as_tracer_profilers(cluster, receiver):
    import v1decode

    async def main():
        async with PostgresDiagnostics(conn_str=cluster.dsn) as pg:
            task = asyncio.ensure_future(trace_client.start_tracer(
                "pg-diag", 0.05, "127.0.0.1", receiver.port, pg.idle,
                pg.count_db_connections, pg.live_msgs, pg.dead_msgs))
            # cancelled, it takes no last tick: wait for one
            assert await until_ticked("pg-diag", 1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    datagrams = receiver.drain()
    names = v1decode.metric_names(datagrams)
    assert [names[i] for i in range(4)] == [
        "idle", "count_db_connections", "live_msgs", "dead_msgs"]
    last = v1decode.rows(datagrams)[-1][2]
    assert last[2] == 380 and last[3] == 120 and last[1] >= 1


def test_bad_connection_string_is_a_clear_error():
    async def main():
        async with PostgresDiagnostics(conn_str="host=127.0.0.1 port=1 "
                                       "connect_timeout=2"):
            pass

    with pytest.raises(ConnectionError, match="cannot connect"):
        asyncio.run(main())


def test_members_outside_async_with_raise():
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(PostgresDiagnostics(conn_str="x").idle())


def test_reconnects_after_losing_the_connection(cluster, monkeypatch):
    from dolon import postgres
    monkeypatch.setattr(postgres, "RECONNECT_EVERY_S", 0.0)

    async def main():
        async with PostgresDiagnostics(conn_str=cluster.dsn) as pg:
            before = await pg.count_db_connections()
            cluster.query("SELECT pg_terminate_backend(pid) FROM "
                          "pg_stat_activity WHERE datname = 'diag' "
                          "AND pid <> pg_backend_pid()")
            await asyncio.sleep(SNAPSHOT_AGE)
            with pytest.raises(ConnectionError):
                await pg.count_db_connections()
            await asyncio.sleep(SNAPSHOT_AGE)
            after = await pg.count_db_connections()
            return before, after

    SNAPSHOT_AGE = 0.3
    before, after = asyncio.run(main())
    assert before >= 1 and after >= 1


def test_connect_timeout_on_a_silent_server(monkeypatch):
    """A server that accepts TCP but never answers: a clear error in time,
    and the loop runs meanwhile."""
    import socket as socketlib
    from dolon import postgres
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT_S", 0.5)
    silent = socketlib.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]

    async def main():
        beats = 0

        async def heartbeat():
            nonlocal beats
            while True:
                await asyncio.sleep(0.01)
                beats += 1

        hb = asyncio.ensure_future(heartbeat())
        try:
            with pytest.raises(ConnectionError, match="no answer"):
                async with PostgresDiagnostics(
                        conn_str="host=127.0.0.1 port=%d" % port):
                    pass
        finally:
            hb.cancel()
        return beats

    try:
        assert asyncio.run(main()) >= 10       # blocked: 0 or 1
    finally:
        silent.close()
