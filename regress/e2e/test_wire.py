"""The storage path end to end: datagrams sent over real UDP on 127.0.0.1
to a real PostgreSQL 15 with pg_mnemic preloaded arrive as the exact rows.

Legacy JSON (dolon 0.2.0) and binary v1 (docs/protocol.md) are both sent by
the tests, and what is read back is compared value for value: names, tracer,
run details, timestamps (arrival time for JSON, sender time for v1), NULLs,
sequence loss.  Each test waits (bounded) for the rows to appear.
"""
import datetime
import math
import random
import uuid

import pytest

from conftest import (legacy_header, legacy_row, new_run, stats,
                      stored_samples, v1_datagram, v1_describe, v1_ticks,
                      wait_until, worker_pids)

UTC = datetime.timezone.utc
T0_US = 1_700_000_000_000_000      # 2023-11-14 22:13:20 UTC


def at_us(us):
    return datetime.datetime.fromtimestamp(us // 1_000_000, UTC) + \
        datetime.timedelta(microseconds=us % 1_000_000)


@pytest.fixture
def wired(cluster):
    """The cluster, once both listener workers run; skipped without them."""
    try:
        wait_until(lambda: worker_pids(cluster),
                   lambda p: {"pg_mnemic inserter", "pg_mnemic receiver"}
                   <= set(p), timeout=10)
    except AssertionError:
        pytest.skip("the listener's workers are not running")
    return cluster


def samples(cluster, run):
    return cluster.query(
        "SELECT tracer, metric, ts, value FROM mnemic.samples WHERE run = %s "
        "ORDER BY metric, ts", (str(run),))


def run_row(cluster, run, columns):
    rows = cluster.query("SELECT %s FROM mnemic.run WHERE uuid = %%s" %
                         columns, (str(run),))
    return rows[0] if rows else None


def db_now(cluster):
    return cluster.query("SELECT clock_timestamp()")[0][0]


def test_legacy_json_arrives_as_exact_rows(wired):
    run = new_run()
    before = db_now(wired)
    wired.send_udp([legacy_header(run, "legacy-app", ["cpu", "mem", "fds"])])
    rows = [[1.5, 100, None], [2.5, 200, float("nan")],
            [float("inf"), -300.25, 7]]
    wired.send_udp([legacy_row(run, r) for r in rows])
    wait_until(lambda: stored_samples(wired, run), lambda n: n == 9)
    after = db_now(wired)

    got = samples(wired, run)
    assert {r[0] for r in got} == {"legacy-app"}
    by_metric = {}
    for tracer, metric, ts, value in got:
        assert before <= ts <= after, "JSON rows are stamped on arrival"
        by_metric.setdefault(metric, []).append(value)
    assert by_metric["cpu"] == [1.5, 2.5, math.inf]
    assert by_metric["mem"] == [100.0, 200.0, -300.25]
    assert by_metric["fds"][0] is None and math.isnan(by_metric["fds"][1])
    assert by_metric["fds"][2] == 7.0
    assert run_row(wired, run, "protocol, datagrams, samples, lost") == \
        ("json", 4, 9, 0)


def test_legacy_rows_before_their_header_get_its_names(wired):
    run = new_run()
    wired.send_udp([legacy_row(run, [i, -i]) for i in range(5)])
    wait_until(lambda: stored_samples(wired, run), lambda n: n == 10)
    assert {r[1] for r in samples(wired, run)} == {"col_0", "col_1"}
    assert {r[0] for r in samples(wired, run)} == {None}

    wired.send_udp([legacy_header(run, "late", ["up", "down"])])
    wait_until(lambda: {r[1] for r in samples(wired, run)},
               lambda names: names == {"up", "down"})
    got = samples(wired, run)
    assert [r[3] for r in got if r[1] == "up"] == [0, 1, 2, 3, 4]
    assert [r[3] for r in got if r[1] == "down"] == [0, -1, -2, -3, -4]
    assert {r[0] for r in got} == {"late"}


def test_v1_arrives_with_sender_time_description_and_loss(wired):
    run = new_run()
    period = 250_000
    describe = v1_describe(T0_US, ["cpu", "rss"], tracer="v1-app",
                           host="box-1", pid=4242, period_us=period,
                           program="python3 -m app", python_version="3.11.2")
    first = [[0.5, 1000.0], [math.nan, 2000.0], [math.inf, 3000.0]]
    later = [[4.5, 4000.0], [5.5, 5000.0]]
    end = b"\x03\x00\x08\x00" + (T0_US + 10_000_000).to_bytes(8, "little")
    wired.send_udp([
        v1_datagram(run, 0, [describe, v1_ticks(T0_US, first,
                                                 period_us=period)]),
        # sequence 1 and 2 are never sent: two datagrams lost
        v1_datagram(run, 3, [v1_ticks(T0_US + 3 * period, later,
                                      period_us=period)]),
        v1_datagram(run, 4, [end]),
    ])
    wait_until(lambda: run_row(wired, run, "datagrams"), lambda r: r == (3,))
    wait_until(lambda: stored_samples(wired, run), lambda n: n == 10)

    got = samples(wired, run)
    cpu = [(ts, v) for t, m, ts, v in got if m == "cpu"]
    rss = [(ts, v) for t, m, ts, v in got if m == "rss"]
    stamps = [at_us(T0_US + k * period) for k in range(5)]
    assert cpu == list(zip(stamps, [0.5, None, math.inf, 4.5, 5.5])), \
        "NaN means not measured (NULL); time is the sender's"
    assert rss == list(zip(stamps, [1000.0, 2000.0, 3000.0, 4000.0, 5000.0]))
    assert {r[0] for r in got} == {"v1-app"}

    assert run_row(wired, run, "protocol, host, pid, program, python_version, "
                   "period, started, ended, first_seq, max_seq, lost") == (
        "v1", "box-1", 4242, "python3 -m app", "3.11.2",
        datetime.timedelta(microseconds=period), at_us(T0_US),
        at_us(T0_US + 10_000_000), 0, 4, 2)
    assert stats(wired)["lost"] == 2


def test_many_runs_in_one_flush_each_get_exactly_their_rows(wired):
    runs = [new_run() for _ in range(20)]
    payloads = []
    for k, run in enumerate(runs):
        payloads.append(legacy_header(run, "fleet-%d" % k, ["a", "b", "c"]))
    for i in range(30):
        for k, run in enumerate(runs):
            payloads.append(legacy_row(run, [k, i, k * 1000 + i]))
    wired.send_udp(payloads)
    for run in runs:
        wait_until(lambda: stored_samples(wired, run), lambda n: n == 90)
    for k, run in enumerate(runs):
        rows = wired.query(
            "SELECT tracer, metric, count(*), sum(value) FROM mnemic.samples "
            "WHERE run = %s GROUP BY 1, 2 ORDER BY 2", (str(run),))
        assert rows == [("fleet-%d" % k, "a", 30, 30.0 * k),
                        ("fleet-%d" % k, "b", 30, 435.0),
                        ("fleet-%d" % k, "c", 30, 30 * k * 1000 + 435.0)]


def test_a_failing_run_is_logged_counted_and_spares_the_others(wired):
    # The failing run sorts first in the flush, so the run after it is
    # stored after a rolled-back subtransaction.
    bad = uuid.UUID("00000000-0000-4000-8000-%012x" % random.getrandbits(48))
    good = uuid.UUID("ffffffff-0000-4000-8000-%012x" % random.getrandbits(48))
    # A trigger that rejects one run's counter update: its flush fails.
    wired.query("""
        CREATE FUNCTION reject_run() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.uuid = '%s' AND NEW.datagrams > 0 THEN
                RAISE EXCEPTION 'run rejected by test trigger';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER reject_run BEFORE UPDATE ON mnemic.run
        FOR EACH ROW EXECUTE FUNCTION reject_run();""" % bad)
    errors_before = stats(wired)["flush_errors"]
    wired.send_udp([legacy_header(bad, "bad", ["x"]),
                    legacy_header(good, "good", ["x"])] +
                   [legacy_row(r, [i]) for i in range(10) for r in (bad, good)])
    wait_until(lambda: stored_samples(wired, good), lambda n: n == 10)
    wait_until(lambda: stats(wired)["flush_errors"],
               lambda n: n > errors_before)
    assert stored_samples(wired, bad) == 0
    s = stats(wired)
    assert str(bad) in s["last_error"]
    assert "run rejected by test trigger" in s["last_error"]
    assert ("samples of run %s not stored: run rejected by test trigger"
            % bad) in wired.log()

    wired.query("DROP TRIGGER reject_run ON mnemic.run")
    wired.send_udp([legacy_row(bad, [42])])
    wait_until(lambda: stored_samples(wired, bad), lambda n: n == 1)


def test_hostile_names_round_trip_over_the_wire(wired):
    run = new_run()
    tracer = "x'); DROP TABLE mnemic.block; -- <script>"
    names = ['"quoted"', "semi;colon", "<img src=x onerror=alert(1)>",
             "température 温度 🔥", "back\\slash"]
    wired.send_udp([legacy_header(run, tracer, names),
                    legacy_row(run, list(range(len(names))))])
    v1run = new_run()
    wired.send_udp([v1_datagram(v1run, 0, [
        v1_describe(T0_US, names, tracer=tracer),
        v1_ticks(T0_US, [list(range(len(names)))])])])
    for r in (run, v1run):
        wait_until(lambda: stored_samples(wired, r), lambda n: n == len(names))
        got = samples(wired, r)
        assert {g[0] for g in got} == {tracer}
        assert sorted((g[3], g[1]) for g in got) == \
            [(float(i), n) for i, n in enumerate(names)]
