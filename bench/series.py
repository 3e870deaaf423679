"""Benchmark mnemic.series(): does the cost of a chart follow its pixels?

Loads one run with one metric of BENCH_SERIES_POINTS points (default
10,000,000, 10 ms apart) through mnemic.import_series in chunks of 100,000,
then times series(..., points => 1000) over the full range and five zoom
windows centred in the data (50 %, 10 %, 1 %, 0.1 %, 0.01 %), each the median
of 20 calls.  As a floor, the same run times a bare scan of the same rows:
count(*), min(value), max(value) over the metric's blocks in that range.
Prints figures and ratios, never pass/fail.  Targets (issue 4): full range
<= 20 ms and >= 20x faster than the bare scan; every window <= 50 ms.

Run with `make bench-series` (after `make install`).
"""
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "regress"))
from pgtemp import TempCluster  # noqa: E402

POINTS = int(os.environ.get("BENCH_SERIES_POINTS", "10000000"))
CHUNK = 100000
SPACING_MS = 10
PIXELS = 1000
CALLS = 20
SCAN_CALLS = int(os.environ.get("BENCH_SERIES_SCAN_CALLS", "5"))
WINDOWS = [1.0, 0.5, 0.1, 0.01, 0.001, 0.0001]
RUN = str(uuid.UUID(int=0xbe5c))
T0 = "2026-01-01 00:00:00+00"


def load(cur):
    """Import the series chunk by chunk; returns seconds spent."""
    started = time.monotonic()
    for first in range(0, POINTS, CHUNK):
        last = min(first + CHUNK, POINTS) - 1
        # a slow wave with deterministic noise, computed in the server
        cur.execute(
            "SELECT mnemic.import_series('bench-series', %s, 'signal',"
            " array_agg(%s::timestamptz + i * interval '%s ms' ORDER BY i),"
            " array_agg(sin(i / 50000.0) * 100 + (i::bigint * 7919 %% 1000) / 100.0"
            "           ORDER BY i))"
            " FROM generate_series(%s, %s) i",
            (RUN, T0, SPACING_MS, first, last))
        done = last + 1
        if done % (POINTS // 10 or 1) < CHUNK:
            print("  loaded %9d points, %6.1f s" %
                  (done, time.monotonic() - started), flush=True)
    return time.monotonic() - started


def median_ms(cur, sql, params, calls):
    times = []
    rows = None
    for _ in range(calls):
        started = time.perf_counter()
        cur.execute(sql, params)
        rows = cur.fetchall()
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times), rows


def window(fraction):
    """[from, to] of the fraction of the data centred in the middle."""
    span_ms = (POINTS - 1) * SPACING_MS
    width = span_ms * fraction
    start = (span_ms - width) / 2
    return start, start + width


def main():
    settings = {"shared_buffers": "'256MB'", "work_mem": "'64MB'"}
    with TempCluster(settings=settings) as cluster:
        conn = cluster.connect()
        conn.autocommit = True
        cur = conn.cursor()
        print("series benchmark: %d points, 1 every %d ms, %d pixels, "
              "median of %d calls (bare scan: %d)" %
              (POINTS, SPACING_MS, PIXELS, CALLS, SCAN_CALLS), flush=True)
        seconds = load(cur)
        print("load through mnemic.import_series: %.1f s, %.0f points/s" %
              (seconds, POINTS / seconds))
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT m.id, m.max_span FROM mnemic.metric m"
                    " JOIN mnemic.run r ON r.id = m.run_id WHERE r.uuid = %s",
                    (RUN,))
        metric_id, _ = cur.fetchone()
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('mnemic.block')),"
                    " pg_size_pretty(pg_total_relation_size('mnemic.summary')),"
                    " (SELECT count(*) FROM mnemic.summary)")
        print("storage: blocks %s, summaries %s (%d rows)" % cur.fetchone())

        print("%-8s %10s %6s %6s %10s %12s %8s" %
              ("window", "points", "level", "rows", "series ms",
               "bare scan ms", "ratio"))
        results = []
        for fraction in WINDOWS:
            lo, hi = window(fraction)
            t_from = "%s" % T0
            bounds = (lo, hi)
            series_sql = ("SELECT ts, value FROM mnemic.series(%s, 'signal',"
                          " %s::timestamptz + %s * interval '1 ms',"
                          " %s::timestamptz + %s * interval '1 ms', %s)")
            params = (RUN, t_from, bounds[0], t_from, bounds[1], PIXELS)
            series_ms, rows = median_ms(cur, series_sql, params, CALLS)
            cur.execute("SELECT coalesce(level::text, 'raw') FROM"
                        " mnemic.series_grid(%s, 'signal',"
                        " %s::timestamptz + %s * interval '1 ms',"
                        " %s::timestamptz + %s * interval '1 ms', %s)", params)
            level = cur.fetchone()[0]
            scan_sql = ("SELECT count(*), min(p.value), max(p.value)"
                        " FROM mnemic.block b"
                        " CROSS JOIN LATERAL unnest(b.ts, b.value) AS p (ts, value),"
                        " mnemic.metric m"
                        " WHERE m.id = %s AND b.metric_id = m.id"
                        " AND b.t_first BETWEEN %s::timestamptz + %s * interval '1 ms'"
                        "     - m.max_span AND %s::timestamptz + %s * interval '1 ms'"
                        " AND p.ts BETWEEN %s::timestamptz + %s * interval '1 ms'"
                        "     AND %s::timestamptz + %s * interval '1 ms'")
            scan_params = (metric_id, t_from, lo, t_from, hi, t_from, lo,
                           t_from, hi)
            scan_ms, scan_rows = median_ms(cur, scan_sql, scan_params,
                                           SCAN_CALLS)
            results.append((fraction, series_ms, scan_ms))
            print("%-8s %10d %6s %6d %10.2f %12.2f %7.1fx" %
                  ("%g%%" % (fraction * 100), scan_rows[0][0], level,
                   len(rows), series_ms, scan_ms, scan_ms / series_ms),
                  flush=True)
        # the other methods over the full range, for reference
        for method in ("lttb", "avg"):
            ms, rows = median_ms(cur, "SELECT ts, value FROM mnemic.series("
                                 "%s, 'signal', points => %s, method => %s)",
                                 (RUN, PIXELS, method), CALLS)
            print("full range, method %-4s: %8.2f ms, %d rows" %
                  (method, ms, len(rows)))
        full = results[0]
        print("targets: full range %.2f ms (<= 20 ms), %.1fx the bare scan "
              "(>= 20x); slowest window %.2f ms (<= 50 ms)" %
              (full[1], full[2] / full[1], max(r[1] for r in results)))
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
