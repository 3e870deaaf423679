"""What one client sends must never cost another run its samples.

Values at the edges of float8 and spoofed sequence numbers, sent over real
UDP to the listener: every run keeps every sample, the summaries stay
consistent with the raw points, and the counters stay believable.  The
insert path is fuzzed here with extreme finite values (the decoder has its
own fuzzer, regress/decoder): MNEMIC_FUZZ_ROUNDS sets how many flushes.
"""
import math
import os
import random
import struct
import sys

import pytest

from conftest import (legacy_header, legacy_row, new_run, stats,
                      stored_samples, v1_datagram, v1_describe, v1_ticks,
                      wait_until, worker_pids)

T0_US = 1_767_225_600_000_000      # 2026-01-01 00:00:00 UTC
DBL_MAX = sys.float_info.max
EXTREMES = [DBL_MAX, -DBL_MAX, 1e308, -1e308, 9e307, -9e307,
            sys.float_info.min, -sys.float_info.min, 5e-324, -5e-324,
            0.0, -0.0, math.nan, math.inf, -math.inf]


@pytest.fixture
def wired(cluster):
    wait_until(lambda: worker_pids(cluster),
               lambda p: {"pg_mnemic inserter", "pg_mnemic receiver"}
               <= set(p), timeout=15)
    return cluster


def datagrams(cluster, runs):
    """{run: datagrams stored} for the runs that exist."""
    return dict(cluster.query(
        "SELECT uuid::text, datagrams FROM mnemic.run WHERE uuid::text = ANY(%s)",
        ([str(r) for r in runs],)))


def send_and_wait(cluster, payloads, expect):
    """Send, then wait until each run of expect has that many datagrams
    stored: one flush or more has taken them in."""
    cluster.send_udp(payloads)
    want = {str(r): n for r, n in expect.items()}
    wait_until(lambda: datagrams(cluster, expect), lambda got: got == want)


def test_a_huge_value_in_one_run_costs_no_other_run_its_samples(wired):
    # The report: a run sending 1e308 once per flush beside a normal run;
    # before summary sums saturated, the normal run kept 1 of 12 samples.
    big, normal = new_run(), new_run()
    describe = v1_describe(T0_US, ["value"], tracer="hostile")
    for k in range(12):
        t = T0_US + k * 400_000
        send_and_wait(wired, [
            v1_datagram(big, k, [describe, v1_ticks(t, [[1e308]])]),
            v1_datagram(normal, k, [describe, v1_ticks(t, [[float(k)]])])],
            {big: k + 1, normal: k + 1})
    wait_until(lambda: stored_samples(wired, normal), lambda n: n == 12)
    wait_until(lambda: stored_samples(wired, big), lambda n: n == 12)
    s = stats(wired)
    assert s["flush_errors"] == 0, s["last_error"]
    # A column of two or more 1e308 saturates (documented); a column of
    # one averages to it.
    avgs = {v for (v,) in wired.query(
        "SELECT value FROM mnemic.series(%s, 'value', NULL, NULL, 4, 'avg')",
        (str(big),))}
    assert math.inf in avgs and avgs <= {math.inf, 1e308}
    assert wired.query(
        "SELECT count(*), min(value), max(value) FROM mnemic.samples "
        "WHERE run = %s", (str(big),)) == [(12, 1e308, 1e308)]


def test_a_spoofed_sequence_number_is_a_reset_not_billions_lost(wired):
    run = new_run()
    describe = v1_describe(T0_US, ["v"])
    seqs = [0, 1, 2, 2654435769, 3, 4, 6]      # 5 lost, one random number
    wired.send_udp([v1_datagram(run, s, [describe, v1_ticks(T0_US + s, [[1.0]])])
                    for s in seqs])
    wait_until(lambda: wired.query(
        "SELECT datagrams FROM mnemic.run WHERE uuid = %s", (str(run),)),
        lambda r: r == [(7,)])
    lost, resets = wired.query(
        "SELECT lost, seq_resets FROM mnemic.run WHERE uuid = %s",
        (str(run),))[0]
    # One flush: 1 lost and 1 reset.  Split across flushes the random number
    # can be the latest datagram of one: then 2 resets, and the datagram
    # lost around the switch back is not seen.
    assert (lost, resets) in {(1, 1), (1, 2), (0, 2)}
    s = stats(wired)
    assert s["lost"] == lost and s["seq_resets"] == resets


def fuzz_value(rng):
    r = rng.random()
    if r < 0.5:
        return rng.choice(EXTREMES)
    if r < 0.8:
        # a random finite double of any magnitude and sign
        return struct.unpack("<d", struct.pack(
            "<Q", rng.getrandbits(63) & ~(0x7FF << 52) | (rng.randrange(0x7FF) << 52)))[0] \
            * rng.choice([1, -1])
    return rng.uniform(-1e6, 1e6)


def test_fuzz_the_insert_path_with_extreme_values(wired):
    rounds = int(os.environ.get("MNEMIC_FUZZ_ROUNDS", "25"))
    rng = random.Random(int(os.environ.get("MNEMIC_FUZZ_SEED", "20261129")))
    runs = [new_run() for _ in range(3)]
    legacy = new_run()
    metrics = ["a", "b", "c"]
    sent = {(r, m): [] for r in runs for m in metrics}
    legacy_sent = {m: [] for m in metrics}
    seq = {r: 0 for r in runs}
    wired.send_udp([legacy_header(legacy, "fuzz-legacy", metrics)])
    for k in range(rounds):
        payloads = []
        for r in runs:
            ticks = rng.randint(1, 8)
            # times jump around within a day, with repeats
            base = T0_US + rng.choice([0, rng.randrange(86_400_000_000)])
            rows = [[fuzz_value(rng) for _ in metrics] for _ in range(ticks)]
            payloads.append(v1_datagram(r, seq[r], [
                v1_describe(T0_US, metrics, tracer="fuzz"),
                v1_ticks(base, rows, period_us=rng.choice([0, 1, 1000]))]))
            seq[r] += 1
            for row in rows:
                for m, v in zip(metrics, row):
                    sent[(r, m)].append(None if math.isnan(v) else v)
        row = [rng.choice(EXTREMES[:6] + [0.5, -2.0]) for _ in metrics]
        payloads.append(legacy_row(legacy, row))
        for m, v in zip(metrics, row):
            legacy_sent[m].append(v)
        send_and_wait(wired, payloads,
                      dict([(r, seq[r]) for r in runs] + [(legacy, k + 2)]))

    s = stats(wired)
    assert s["flush_errors"] == 0, s["last_error"]
    assert s["malformed"] == 0

    def key(v):
        return (v is None, 0.0 if v is None else v, repr(v))

    for r in runs + [legacy]:
        expect = {m: (sent[(r, m)] if r != legacy else legacy_sent[m])
                  for m in metrics}
        wait_until(lambda: stored_samples(wired, r),
                   lambda n: n == sum(len(v) for v in expect.values()))
        for m in metrics:
            got = [v for (v,) in wired.query(
                "SELECT value FROM mnemic.samples WHERE run = %s AND metric = %s",
                (str(r), m))]
            assert sorted(got, key=key) == sorted(expect[m], key=key), (r, m)
            # Every method answers; M4 from summaries equals M4 over the raw
            # points on the grid series() reports.
            for window in [(None, None), ("2025-12-31 12:00+00", "2026-01-02 12:00+00"),
                           ("2026-01-01 00:00+00", "2026-01-01 00:00:01+00")]:
                for method in ("m4", "avg", "lttb", "raw"):
                    wired.query("SELECT count(*) FROM mnemic.series(%s, %s, %s, %s, 7, %s)",
                                (str(r), m) + window + (method,))
                same = wired.query("""
                    SELECT (SELECT coalesce(array_agg((s.ts, s.value)::mnemic.point
                                                      ORDER BY s.o), '{}')
                            FROM mnemic.series(%(r)s, %(m)s, %(f)s, %(t)s, 7, 'm4')
                                 WITH ORDINALITY AS s (ts, value, o)
                            WHERE s.value IS NOT NULL)
                         = (SELECT coalesce(mnemic.m4(p.ts, p.value, g.grid_start,
                                             g.grid_start + g.columns * g.column_width
                                               - interval '1 microsecond', g.columns), '{}')
                            FROM mnemic.samples p
                            WHERE p.run = %(r)s AND p.metric = %(m)s)
                    FROM mnemic.series_grid(%(r)s, %(m)s, %(f)s, %(t)s, 7) g""",
                    {"r": str(r), "m": m, "f": window[0], "t": window[1]})
                assert same == [(True,)], (r, m, window)
