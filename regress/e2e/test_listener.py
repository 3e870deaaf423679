"""The listener's process side, end to end: the receiver and inserter
background workers of a real PostgreSQL 15 with pg_mnemic preloaded, fed
real UDP datagrams on 127.0.0.1.

Each test starts its own cluster (regress/pgtemp.py) and is bounded in time
by the waits below; none depends on timing for its verdict except that
"nothing was stored yet" is checked while a long flush interval holds data.
"""
import json
import os
import signal
import time

from conftest import (TempCluster, legacy_header, legacy_row, log_count,
                      new_run, stats, stored_samples, v1_datagram, v1_describe,
                      v1_ticks, wait_until, worker_pids)


WAITING_FOR_DATABASE = ('pg_mnemic inserter: database "mnemic" does not exist;'
                        ' waiting for it')
WAITING_FOR_EXTENSION = "pg_mnemic inserter: extension pg_mnemic is not installed"


def test_workers_show_in_pg_stat_activity(cluster):
    # The inserter sets its application_name only once connected.
    wait_until(lambda: cluster.query(
        "SELECT backend_type, application_name, datname FROM pg_stat_activity "
        "WHERE backend_type LIKE 'pg_mnemic %' ORDER BY 1", dbname="postgres"),
        lambda rows: rows == [
            ("pg_mnemic inserter", "pg_mnemic inserter", "mnemic"),
            ("pg_mnemic receiver", "pg_mnemic receiver", None)])
    # Logged once the receiver has published its pid and opened its socket.
    wait_until(lambda: log_count(cluster, "pg_mnemic receiver: listening on"),
               lambda n: n == 1)
    s = stats(cluster)
    pids = worker_pids(cluster)
    assert s["receiver_pid"] == pids["pg_mnemic receiver"]
    assert s["inserter_pid"] == pids["pg_mnemic inserter"]
    assert s["receive_buffer"] > 0
    assert s["ring_size"] == 64 * 1024 * 1024
    assert "pg_mnemic receiver: receive buffer is" in cluster.log()


def test_legacy_rows_arrive_as_rows(cluster):
    run = new_run()
    cluster.send_udp([legacy_header(run, "app", ["cpu", "mem"])])
    cluster.send_udp([legacy_row(run, [i, i * 0.5]) for i in range(100)])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 200)
    rows = cluster.query(
        "SELECT tracer, metric, count(*), sum(value) FROM mnemic.samples "
        "WHERE run = %s GROUP BY 1, 2 ORDER BY 2", (str(run),))
    assert rows == [("app", "cpu", 100, 4950.0), ("app", "mem", 100, 2475.0)]
    # The inserter counts what it stored after the commit that shows the
    # rows, the receiver what it received after putting it in the ring.
    s = wait_until(lambda: stats(cluster),
                   lambda s: s["samples_stored"] == 200 and s["flushes"] >= 1
                   and s["datagrams_received"] == 101)
    assert s["datagrams_decoded"] == 101
    assert s["malformed"] == 0
    assert s["flush_errors"] == 0
    assert s["ring_drops"] == 0 and s["kernel_drops"] == 0


def test_v1_ticks_arrive_with_sender_time_and_gaps_count_as_lost(cluster):
    run = new_run()
    t0 = 1_700_000_000_000_000          # 2023-11-14 22:13:20 UTC, in µs
    describe = v1_describe(t0, ["cpu", "rss"], tracer="v1app")
    dgs = [v1_datagram(run, 0, [describe, v1_ticks(t0, [[1.5, 10.0],
                                                        [2.5, 20.0]])])]
    # Sequence 1 and 2 never arrive: two datagrams lost.
    dgs.append(v1_datagram(run, 3, [v1_ticks(t0 + 2_000_000,
                                             [[3.5, float("nan")]])]))
    cluster.send_udp(dgs)
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 6)
    rows = cluster.query(
        "SELECT metric, extract(epoch FROM ts)::float8, value "
        "FROM mnemic.samples WHERE run = %s ORDER BY metric, ts", (str(run),))
    assert rows == [("cpu", 1700000000.0, 1.5), ("cpu", 1700000001.0, 2.5),
                    ("cpu", 1700000002.0, 3.5), ("rss", 1700000000.0, 10.0),
                    ("rss", 1700000001.0, 20.0), ("rss", 1700000002.0, None)]
    assert stats(cluster)["lost"] == 2


def read_vectors():
    """docs/vectors: (name, bytes, reason) with reason "ok" for valid ones."""
    here = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                        "vectors")
    with open(os.path.join(here, "vectors.json")) as f:
        listing = json.load(f)["vectors"]
    out = []
    for v in listing:
        with open(os.path.join(here, v["file"])) as f:
            hex_text = "".join(line for line in f
                               if not line.lstrip().startswith("#"))
        out.append((v["name"], bytes.fromhex("".join(hex_text.split())),
                    v["reason"] if not v["valid"] else "ok"))
    return out


def test_every_test_vector_over_the_socket(cluster):
    """The shared test vectors, sent over UDP, are decoded or dropped for
    the reason docs/vectors/vectors.json names (the decoder tests check the
    same vectors without a socket)."""
    vectors = [v for v in read_vectors() if len(v[1]) <= 65507]
    assert len(vectors) > 20
    for _, data, _ in vectors:
        cluster.send_udp([data])
        time.sleep(0.002)       # loopback keeps order; no burst needed
    expected = {}
    for _, _, reason in vectors:
        if reason != "ok":
            expected[reason] = expected.get(reason, 0) + 1
    valid = sum(1 for v in vectors if v[2] == "ok")
    # (The receiver counts a batch as received after it is in the ring.)
    s = wait_until(lambda: stats(cluster),
                   lambda s: s["datagrams_decoded"] + s["malformed"] ==
                   len(vectors) and s["samples_held"] == 0 and
                   s["datagrams_received"] == len(vectors))
    assert s["datagrams_decoded"] == valid
    assert {k: v for k, v in s["malformed_by_reason"].items() if v} == \
        expected
    assert s["flush_errors"] == 0


def malformed_datagrams(run):
    """(reason, datagram) pairs, each dropped for exactly that reason."""
    u = str(run)
    deep = "[" * 40 + "]" * 40
    return [
        ("empty", b""),
        ("bad_magic", b"hello"),
        ("bad_magic", b"\x00\x01\x02"),
        ("truncated", b'{"msg_type": "row", "row_data": [1, 2'),
        ("bad_json", b'{"msg_type": "row", "row_data": [1, 2],}'),
        ("wrong_type", legacy_row(run, [1, "two"]).encode()),
        ("wrong_type", legacy_row(run, [True]).encode()),
        ("missing_field", json.dumps({"msg_type": "row", "uuid": u}).encode()),
        ("bad_uuid", legacy_row("not-a-uuid", [1]).encode()),
        ("unknown_msg_type",
         json.dumps({"msg_type": "drop_table", "uuid": u}).encode()),
        ("too_deep", ('{"msg_type": "row", "row_data": [1], "uuid": "%s", '
                      '"x": %s}' % (u, deep)).encode()),
        ("bad_utf8", b'{"msg_type": "create_trace_run", "app_name": "\xff", '
                     b'"column_names": [], "uuid": "' + u.encode() + b'"}'),
        ("bad_version", b"MNEM\x02\x00\x01\x00" + run.bytes + b"\0\0\0\0"),
    ]


def test_malformed_flood_counts_each_reason_and_keeps_the_good(cluster):
    run = new_run()
    bad = malformed_datagrams(run)
    rounds = 200
    wait_until(lambda: len(worker_pids(cluster)), lambda n: n == 2)
    pids_before = worker_pids(cluster)
    cluster.send_udp([legacy_header(run, "flood", ["v"])])
    for i in range(rounds):
        # One good row between every round of bad ones.
        cluster.send_udp([d for _, d in bad] + [legacy_row(run, [i])])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == rounds)

    expected = {}
    for reason, _ in bad:
        expected[reason] = expected.get(reason, 0) + rounds
    # The last row stored, every datagram before it was decoded; the
    # receiver counts a batch as received only after it is in the ring.
    s = wait_until(lambda: stats(cluster), lambda s: s["datagrams_received"]
                   == (len(bad) + 1) * rounds + 1)
    by_reason = {k: v for k, v in s["malformed_by_reason"].items() if v}
    assert by_reason == expected
    assert s["malformed"] == len(bad) * rounds
    assert s["datagrams_decoded"] == rounds + 1
    rows = cluster.query("SELECT reason, count FROM mnemic.listener_malformed()"
                         " WHERE count > 0 ORDER BY reason")
    assert dict(rows) == expected
    assert cluster.query("SELECT sum(value) FROM mnemic.samples WHERE run = %s",
                         (str(run),))[0][0] == sum(range(rounds))
    assert worker_pids(cluster) == pids_before


def test_reload_applies_a_new_flush_interval(cluster):
    cluster.reload(**{"pg_mnemic.flush_interval": "60000"})
    wait_until(lambda: cluster.query("SHOW pg_mnemic.flush_interval")[0][0],
               lambda v: v == "1min")
    run = new_run()
    cluster.send_udp([legacy_row(run, [1.0, 2.0]) for _ in range(10)])
    wait_until(lambda: stats(cluster)["datagrams_decoded"], lambda n: n == 10)
    time.sleep(1.0)
    assert stored_samples(cluster, run) == 0
    assert stats(cluster)["samples_stored"] == 0

    cluster.reload(**{"pg_mnemic.flush_interval": "100"})
    t0 = time.monotonic()
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 20,
               timeout=5)
    assert time.monotonic() - t0 < 5


def test_a_failing_commit_is_caught_counted_and_the_worker_goes_on(cluster):
    poison, good = new_run(), new_run()
    # A deferred constraint trigger fails the flush's COMMIT, outside the
    # store's per-run subtransactions: the inserter's own catch must act.
    cluster.query("""
        CREATE FUNCTION public.fail_poison() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.uuid = '%s' THEN
                RAISE EXCEPTION 'injected failure for run %%', NEW.uuid;
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER fail_poison AFTER INSERT OR UPDATE
        ON mnemic.run DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION public.fail_poison();""" % poison)
    inserter = wait_until(lambda: worker_pids(cluster),
                          lambda p: len(p) == 2)["pg_mnemic inserter"]
    cluster.send_udp([legacy_row(poison, [1, 2])])
    s = wait_until(lambda: stats(cluster), lambda s: s["flush_errors"] == 1)
    assert "injected failure for run %s" % poison in s["last_error"]
    assert s["last_error_time"] is not None
    assert "pg_mnemic inserter: flush of 2 samples failed" in cluster.log()

    cluster.send_udp([legacy_row(good, [3])])
    wait_until(lambda: stored_samples(cluster, good), lambda n: n == 1)
    assert stored_samples(cluster, poison) == 0
    assert worker_pids(cluster)["pg_mnemic inserter"] == inserter
    assert stats(cluster)["flush_errors"] == 1


def test_disabling_closes_the_socket_and_enabling_opens_it(cluster):
    import pgtemp
    cluster.reload(**{"pg_mnemic.enabled": "off"})
    # The port is free once the receiver has closed its socket.
    def port_free():
        with pgtemp.socket.socket(pgtemp.socket.AF_INET,
                                  pgtemp.socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", cluster.udp_port))
                return True
            except OSError:
                return False
    wait_until(port_free, lambda free: free)
    cluster.reload(**{"pg_mnemic.enabled": "on"})
    run = new_run()
    wait_until(lambda: (cluster.send_udp([legacy_row(run, [1])]),
                        stored_samples(cluster, run))[1],
               lambda n: n > 0, interval=0.2)


def test_reload_moves_the_socket_to_a_new_port(cluster):
    import pgtemp
    run = new_run()
    cluster.send_udp([legacy_row(run, [1])])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 1)
    old_port = cluster.udp_port
    new_port = pgtemp.free_port(pgtemp.socket.SOCK_DGRAM)
    cluster.reload(**{"pg_mnemic.port": str(new_port)})
    wait_until(lambda: log_count(cluster, "listening on 127.0.0.1 port %d/udp"
                                 % new_port), lambda n: n == 1)
    cluster.udp_port = new_port
    cluster.send_udp([legacy_row(run, [2])])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 2)
    # Nothing listens on the old port any more.
    with pgtemp.socket.socket(pgtemp.socket.AF_INET,
                              pgtemp.socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", old_port))


def test_a_busy_port_is_retried_and_logged_once(cluster):
    import pgtemp
    squatter = pgtemp.socket.socket(pgtemp.socket.AF_INET,
                                    pgtemp.socket.SOCK_DGRAM)
    try:
        squatter.bind(("127.0.0.1", 0))
        busy = squatter.getsockname()[1]
        receiver = worker_pids(cluster)["pg_mnemic receiver"]
        cluster.reload(**{"pg_mnemic.port": str(busy)})
        message = "cannot listen on 127.0.0.1 port %d/udp" % busy
        wait_until(lambda: log_count(cluster, message), lambda n: n == 1)
        time.sleep(6)                   # one more retry, not logged again
        assert log_count(cluster, message) == 1
        assert worker_pids(cluster)["pg_mnemic receiver"] == receiver
    finally:
        squatter.close()
    wait_until(lambda: log_count(cluster, "listening on 127.0.0.1 port %d/udp"
                                 % busy), lambda n: n == 1, timeout=10)
    cluster.udp_port = busy
    run = new_run()
    cluster.send_udp([legacy_row(run, [5])])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 1)


def test_retention_drops_old_runs_when_set(cluster):
    old, fresh = new_run(), new_run()
    cluster.send_udp([legacy_row(old, [1]), legacy_row(fresh, [1])])
    wait_until(lambda: (stored_samples(cluster, old),
                        stored_samples(cluster, fresh)),
               lambda n: n == (1, 1))
    # Last seen an hour ago: past a retention of 30 minutes, which the fresh
    # run is well within however slowly housekeeping comes round.
    cluster.query("UPDATE mnemic.run SET first_seen = first_seen - "
                  "interval '1 hour', last_seen = last_seen - interval "
                  "'1 hour' WHERE uuid = %s", (str(old),))
    cluster.reload(**{"pg_mnemic.retention": "30min"})
    # Logged once the housekeeping pass has committed its deletion.
    wait_until(lambda: log_count(cluster, "dropped 1 runs last seen more "
                                 "than 1800 seconds ago"), lambda n: n == 1)
    assert cluster.query("SELECT count(*) FROM mnemic.run WHERE uuid = %s",
                         (str(old),))[0][0] == 0
    assert stored_samples(cluster, fresh) == 1


def test_reload_moves_the_inserter_to_another_database(cluster):
    first, second = new_run(), new_run()
    cluster.send_udp([legacy_row(first, [1])])
    wait_until(lambda: stored_samples(cluster, first), lambda n: n == 1)
    cluster.query("CREATE DATABASE other", dbname="postgres")
    cluster.query("CREATE EXTENSION pg_mnemic", dbname="other")
    cluster.reload(**{"pg_mnemic.database": "'other'"})
    wait_until(lambda: cluster.query(
        "SELECT datname FROM pg_stat_activity "
        "WHERE backend_type = 'pg_mnemic inserter'", dbname="postgres"),
        lambda rows: rows == [("other",)])
    cluster.send_udp([legacy_row(second, [2])])
    wait_until(lambda: cluster.query(
        "SELECT count(*) FROM mnemic.samples WHERE run = %s",
        (str(second),), dbname="other")[0][0], lambda n: n == 1)
    assert stored_samples(cluster, second) == 0     # not in "mnemic"
    assert log_count(cluster, 'pg_mnemic.database is now "other"') == 1


def udp_socket(port):
    """The kernel's view of the UDP socket bound to port (/proc/net/udp):
    rx_queue, the bytes queued on it that nobody has read yet, and drops,
    the datagrams it had no room for."""
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1].endswith(":%04X" % port):
                return {"rx_queue": int(fields[4].split(":")[1], 16),
                        "drops": int(fields[12])}
    raise LookupError("no UDP socket on port %d" % port)


def test_kernel_and_ring_drops_are_counted_exactly():
    """Drops are counted where they happen: in the kernel's socket buffer
    while the receiver is stopped, in the ring while the inserter is."""
    with TempCluster(settings={"pg_mnemic.ring_size": "1MB",
                               "pg_mnemic.flush_interval": "50"}) as c:
        pids = wait_until(lambda: worker_pids(c), lambda p: len(p) == 2)
        run = new_run()
        row = legacy_row(run, [1.0] * 100)     # about 0.5 kB
        sent = 0

        os.kill(pids["pg_mnemic receiver"], signal.SIGSTOP)
        try:
            for _ in range(40):
                c.send_udp([row] * 1000)
                sent += 1000
        finally:
            os.kill(pids["pg_mnemic receiver"], signal.SIGCONT)
        # Wait until the receiver has read everything the socket held.
        wait_until(lambda: udp_socket(c.udp_port)["rx_queue"],
                   lambda n: n == 0)
        # The kernel reports its drop count with the next datagram queued.
        c.send_udp([row])
        sent += 1
        s = wait_until(lambda: stats(c), lambda s: s["datagrams_received"] +
                       s["kernel_drops"] == sent)
        assert s["kernel_drops"] > 0
        assert s["kernel_drops"] == udp_socket(c.udp_port)["drops"]
        # (Emptying 8 MB of socket buffer into a 1 MB ring drops some too.)
        wait_until(lambda: stats(c), lambda s: s["datagrams_decoded"] +
                   s["ring_drops"] == s["datagrams_received"])
        s = stats(c)
        wait_until(lambda: stored_samples(c, run),
                   lambda n: n == 100 * s["datagrams_decoded"])

        before = stats(c)
        os.kill(pids["pg_mnemic inserter"], signal.SIGSTOP)
        try:
            for _ in range(5):              # 5 x 1000 x 0.5 kB > 1 MB ring
                c.send_udp([row] * 1000)
                sent += 1000
                # The receiver keeps up: the socket is empty before the
                # next 1000 come, so the kernel has no cause to drop any.
                wait_until(lambda: udp_socket(c.udp_port)["rx_queue"],
                           lambda n: n == 0)
            s = wait_until(lambda: stats(c), lambda s: s["datagrams_received"]
                           + s["kernel_drops"] == sent)
        finally:
            os.kill(pids["pg_mnemic inserter"], signal.SIGCONT)
        assert s["kernel_drops"] == before["kernel_drops"]
        assert s["datagrams_received"] - before["datagrams_received"] == 5000
        # Each one the receiver got is decoded or, when the ring was full, a
        # ring drop: waited for as a sum (the receiver adds its ring drops
        # just after datagrams_received), so one missed or counted twice
        # times out.
        s = wait_until(lambda: stats(c), lambda s: s["datagrams_decoded"] +
                       s["ring_drops"] == s["datagrams_received"])
        assert s["ring_drops"] > before["ring_drops"]
        wait_until(lambda: stored_samples(c, run), lambda n: n ==
                   100 * (s["datagrams_decoded"]))


def test_fast_shutdown_stores_everything_held():
    with TempCluster(settings={"pg_mnemic.flush_interval": "600000"}) as c:
        run = new_run()
        n = 3000
        c.send_udp([legacy_header(run, "shutdown", ["a", "b", "c"])])
        for start in range(0, n, 500):
            c.send_udp([legacy_row(run, [i, i, i])
                        for i in range(start, start + 500)])
        wait_until(lambda: stats(c)["datagrams_decoded"],
                   lambda k: k == n + 1)
        assert stored_samples(c, run) == 0
        c.restart()
        assert stored_samples(c, run) == 3 * n
        assert c.query("SELECT count(DISTINCT value) FROM mnemic.samples "
                       "WHERE run = %s", (str(run),))[0][0] == n


def test_terminated_workers_come_back_and_ingest_continues(cluster):
    pids = wait_until(lambda: worker_pids(cluster), lambda p: len(p) == 2)
    run = new_run()
    cluster.send_udp([legacy_row(run, [1]) for _ in range(5)])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 5)

    for kind in ("pg_mnemic inserter", "pg_mnemic receiver"):
        cluster.query("SELECT pg_terminate_backend(%s)", (pids[kind],))
        pids = wait_until(lambda: worker_pids(cluster),
                          lambda p: len(p) == 2 and p[kind] != pids[kind])
        # The receiver's socket is back when a datagram gets through.
        before = stored_samples(cluster, run)
        wait_until(lambda: (cluster.send_udp([legacy_row(run, [1])]),
                            stored_samples(cluster, run))[1],
                   lambda n: n > before, interval=0.2)
    assert stats(cluster)["flush_errors"] == 0


def test_sigkilled_inserter_means_a_crash_restart_and_ingest_continues(cluster):
    pids = wait_until(lambda: worker_pids(cluster), lambda p: len(p) == 2)
    os.kill(pids["pg_mnemic inserter"], signal.SIGKILL)
    run = new_run()
    wait_until(lambda: (cluster.send_udp([legacy_row(run, [1])]),
                        stored_samples(cluster, run))[1],
               lambda n: n > 0, timeout=30, interval=0.3)


def test_drop_database_is_not_blocked_and_ingest_resumes(cluster):
    wait_until(lambda: len(worker_pids(cluster)), lambda n: n == 2)
    run = new_run()
    cluster.send_udp([legacy_row(run, [7]) for _ in range(3)])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 3)

    # (It may have waited once already, while the cluster was being set up.)
    waits = log_count(cluster, WAITING_FOR_DATABASE)
    t0 = time.monotonic()
    cluster.query("DROP DATABASE mnemic", dbname="postgres")
    assert time.monotonic() - t0 < 10
    wait_until(lambda: log_count(cluster, WAITING_FOR_DATABASE),
               lambda n: n == waits + 1)
    time.sleep(4.5)     # two more checks, which must not log again
    assert log_count(cluster, WAITING_FOR_DATABASE) == waits + 1
    assert log_count(cluster, 'FATAL:  database "mnemic" does not exist') == 0

    cluster.query("CREATE DATABASE mnemic", dbname="postgres")
    cluster.query("CREATE EXTENSION pg_mnemic")
    run2 = new_run()
    wait_until(lambda: (cluster.send_udp([legacy_row(run2, [1])]),
                        stored_samples(cluster, run2))[1],
               lambda n: n > 0, interval=0.3)


def test_drop_extension_is_not_blocked_and_the_ring_waits(cluster):
    wait_until(lambda: len(worker_pids(cluster)), lambda n: n == 2)
    run = new_run()
    cluster.send_udp([legacy_row(run, [1])])
    wait_until(lambda: stored_samples(cluster, run), lambda n: n == 1)

    # Dropping it in another database leaves the listener alone.
    inserter = worker_pids(cluster)["pg_mnemic inserter"]
    cluster.query("CREATE DATABASE scratch", dbname="postgres")
    cluster.query("CREATE EXTENSION pg_mnemic", dbname="scratch")
    cluster.query("DROP EXTENSION pg_mnemic", dbname="scratch")
    assert worker_pids(cluster)["pg_mnemic inserter"] == inserter

    t0 = time.monotonic()
    cluster.query("DROP EXTENSION pg_mnemic")
    assert time.monotonic() - t0 < 10
    wait_until(lambda: log_count(cluster, WAITING_FOR_EXTENSION), lambda n: n == 1)

    # Received while the extension is away: held in the ring, not lost.
    run2 = new_run()
    cluster.send_udp([legacy_header(run2, "later", ["x"])] +
                     [legacy_row(run2, [i]) for i in range(50)])
    time.sleep(3)
    assert log_count(cluster, WAITING_FOR_EXTENSION) == 1
    cluster.query("CREATE EXTENSION pg_mnemic")
    wait_until(lambda: stored_samples(cluster, run2), lambda n: n == 50)
    assert cluster.query("SELECT sum(value) FROM mnemic.samples "
                         "WHERE run = %s", (str(run2),))[0][0] == 1225


def test_missing_database_at_start_waits_then_ingests():
    with TempCluster(dbname=None) as c:
        wait_until(lambda: log_count(c, WAITING_FOR_DATABASE),
                   lambda n: n == 1)
        run = new_run()
        c.send_udp([legacy_header(run, "early", ["x"]),
                    legacy_row(run, [42])])
        time.sleep(2.5)
        assert log_count(c, WAITING_FOR_DATABASE) == 1
        c.query("CREATE DATABASE mnemic", dbname="postgres")
        wait_until(lambda: log_count(c, WAITING_FOR_EXTENSION), lambda n: n == 1)
        c.dbname = "mnemic"
        c.query("CREATE EXTENSION pg_mnemic")
        wait_until(lambda: stored_samples(c, run), lambda n: n == 1)
        assert c.query("SELECT tracer, metric, value FROM mnemic.samples") == \
            [("early", "x", 42.0)]
        assert "pg_mnemic inserter\" (PID" not in c.log()  # never restarted

