"""Profile benchmark: how fast stack samples are stored, and how fast a
flame graph of any window of a long run is answered.

Prints figures, not pass/fail.  A throw-away cluster (regress/pgtemp.py,
fsync off unless BENCH_FSYNC=on).

Ingest: RUNS simulated processes of 100 threads each, sampled at 100 Hz,
on a tree of 2,000 distinct stacks of depth 30.  Their definitions are
sent first; then bench/udpflood.c sends datagrams of 4 threads x 64
samples (plus the process's RSS once per datagram) at rising rates for
FLOOD_SECONDS each.  A rate is lossless when every sample was stored and
the inserter caught up within 2 s of the flood's end.  Next to it, from
the same cluster: the v1 series rate (ticks of 16 x 10 values) and the
COPY floor (the prof_sample rows written, COPYed in binary into a table of
the same layout).

Flame graphs: runs of 10 threads at 100 Hz are written straight into
mnemic.prof_sample in the layout the inserter writes at its default flush
interval (a row per thread per second), with stacks drawn from a skewed
distribution over the leaves of a tree of depth 30; the rollups are built
(timed).  For each run the whole run, a 1-minute and a 10-minute window at
odd offsets are asked of mnemic.flamegraph() (median of 5), next to the
floor of summing the same window's raw samples by stack in plain SQL.
"""
import io
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "regress"))
sys.path.insert(0, HERE)
from pgtemp import TempCluster  # noqa: E402
from v1wire import (frames, stack_samples, stacks, threads,  # noqa: E402
                    v1_datagram, v1_describe, v1_message)
import ingest  # noqa: E402

FLOOD_SECONDS = float(os.environ.get("FLOOD_SECONDS", "10"))
FSYNC = os.environ.get("BENCH_FSYNC", "off")
RUNS = 10
THREADS = 100
PER_MESSAGE = 64
MESSAGES = 4                       # threads per datagram
RATES = [200000, 400000, 800000, 1200000, 1600000, 2000000]  # stack samples/s
SERIES_RATES = [250000, 500000, 1000000, 1500000, 2000000]
# The day-long run (86.4 M samples) takes minutes to write; off skips it.
DAY = os.environ.get("BENCH_PROFILE_DAY", "on") == "on"


def stack_tree(rng, leaves, depth, nframes):
    """Stacks (id, parent, frame, line) forming leaves distinct paths of
    the given depth that share prefixes, and the leaves' ids."""
    nodes = {}
    rows = []
    paths = []
    leaf_ids = []
    while len(leaf_ids) < leaves:
        if paths and rng.random() < 0.95:
            prefix = rng.choice(paths)[:rng.randint(1, depth - 1)]
        else:
            prefix = []
        path = list(prefix)
        while len(path) < depth:
            path.append((rng.randint(1, nframes), rng.randint(1, 400)))
        parent = 0
        for frame, line in path:
            key = (parent, frame, line)
            if key not in nodes:
                nodes[key] = len(rows) + 1
                rows.append((nodes[key], parent, frame, line))
            parent = nodes[key]
        if parent not in leaf_ids:
            leaf_ids.append(parent)
            paths.append(path)
    return rows, leaf_ids


def frame_rows(nframes):
    return [(i, 10 + i % 500, 0, "handler_%d" % i,
             "service/module_%d.py" % (i % 97)) for i in range(1, nframes + 1)]


def definitions(rows, nframes, nthreads):
    """The messages defining frames, stacks and threads, a few a datagram."""
    fr = frame_rows(nframes)
    out = [threads([(t, 1000 + t, "worker-%d" % t)
                    for t in range(1, nthreads + 1)])]
    out += [frames(fr[i:i + 100]) for i in range(0, len(fr), 100)]
    out += [stacks(rows[i:i + 3000]) for i in range(0, len(rows), 3000)]
    return out


# ---------------------------------------------------------------- ingest


def profile_templates(rng, runs, leaves):
    """Datagrams of MESSAGES threads x PER_MESSAGE samples, every thread of
    every run once; the first sample carries the RSS."""
    out = []
    for run, seq in runs:
        for first in range(1, THREADS + 1, MESSAGES):
            msgs = []
            for t in range(first, first + MESSAGES):
                rows = []
                for k in range(PER_MESSAGE):
                    rss = 200_000_000 + k if (t == first and k == 0) else 0
                    rows.append((k * 10000, rng.choice(leaves), 10000,
                                 rng.random() < 0.7, rss))
                msgs.append(stack_samples(0, t, rows))
            out.append(v1_datagram(run, seq, msgs))
    return out


def resolved_stacks(cluster):
    return cluster.query("SELECT count(stack_id) FROM mnemic.prof_run_stack")[0][0]


def measure(tool, cluster, templates, rate, per_datagram, stored_per):
    before, _ = ingest.wait_settled(cluster)
    sent = ingest.flood(tool, cluster, templates, rate // per_datagram, True)
    after, catch_up = ingest.wait_settled(cluster)
    d = {k: after[k] - before[k] for k in
         ("datagrams_received", "samples_stored", "kernel_drops",
          "ring_drops", "malformed", "lost")}
    d["sent"] = int(sent["sent"])
    d["expected"] = d["sent"] * stored_per
    d["catch_up"] = max(0.0, catch_up - 0.2)
    return d


def rising(tool, cluster, templates, rates, per_datagram, stored_per, label):
    best = None
    for rate in rates:
        d = measure(tool, cluster, templates, rate, per_datagram, stored_per)
        ok = d["samples_stored"] == d["expected"] and d["catch_up"] < 2.0
        print("  %-8s %9d/s  sent %7d datagrams  stored %9d of %9d  "
              "lost %.2f%% (kernel %d, ring %d, malformed %d)  catch-up %.1f s"
              % (label, rate, d["sent"], d["samples_stored"], d["expected"],
                 100.0 * (1 - d["samples_stored"] / max(d["expected"], 1)),
                 d["kernel_drops"], d["ring_drops"], d["malformed"],
                 d["catch_up"]), flush=True)
        if not ok:
            break
        best = rate
    return best


def copy_floor(cluster):
    """Binary COPY of the stored prof_sample rows into a table like it."""
    conn = cluster.connect()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TABLE public.floor_sample "
                "(LIKE mnemic.prof_sample INCLUDING ALL)")
    cur.execute("CREATE TEMP TABLE floor_source AS "
                "SELECT * FROM mnemic.prof_sample LIMIT 20000")
    cur.execute("SELECT count(*), sum(n) FROM floor_source")
    rows, samples = cur.fetchone()
    buf = io.BytesIO()
    cur.copy_expert("COPY floor_source TO STDOUT (FORMAT binary)", buf)
    best = None
    for _ in range(3):
        cur.execute("TRUNCATE public.floor_sample")
        buf.seek(0)
        t0 = time.monotonic()
        cur.execute("BEGIN")
        cur.copy_expert("COPY public.floor_sample FROM STDIN (FORMAT binary)",
                        buf)
        cur.execute("COMMIT")
        t = time.monotonic() - t0
        best = t if best is None else min(best, t)
    cur.execute("DROP TABLE public.floor_sample, floor_source")
    conn.close()
    return rows, samples, samples / best


def ingest_bench(work):
    rng = random.Random(11)
    rows, leaves = stack_tree(rng, 2000, 30, 600)
    tool = ingest.build_flood_tool(work)
    runs = [uuid.uuid4() for _ in range(RUNS)]
    defs = definitions(rows, 600, THREADS)
    cluster = TempCluster(settings={"fsync": FSYNC})
    cluster.start()
    try:
        seqs = []
        for run in runs:
            datagrams = [v1_datagram(run, 0, [v1_describe(
                0, ["orders"], tracer="bench-profile")])]
            datagrams += [v1_datagram(run, i + 1, [m])
                          for i, m in enumerate(defs)]
            cluster.send_udp(datagrams)
            seqs.append((run, len(datagrams)))
            time.sleep(0.05)    # pace: ~0.5 MB of definitions a run
        deadline = time.monotonic() + 60
        while resolved_stacks(cluster) < RUNS * len(rows) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        print("ingest: %d runs x %d threads at 100 Hz, %d distinct stacks "
              "(%d stack definitions, depth 30) per run, %d s floods, "
              "fsync %s, load %.1f" %
              (RUNS, THREADS, len(leaves), len(rows), FLOOD_SECONDS, FSYNC,
               os.getloadavg()[0]), flush=True)
        if resolved_stacks(cluster) < RUNS * len(rows):
            print("  definitions not all stored: %d of %d" %
                  (resolved_stacks(cluster), RUNS * len(rows)))
        path = os.path.join(work, "profile.bin")
        ingest.write_templates(path, profile_templates(rng, seqs, leaves))
        per = MESSAGES * PER_MESSAGE
        best = rising(tool, cluster, path, RATES, per, per + 1, "stacks")
        srows, ssamples, floor = copy_floor(cluster)
        print("  COPY floor: %d prof_sample rows (%d samples): %.0f samples/s"
              % (srows, ssamples, floor))
        series_path = os.path.join(work, "v1.bin")
        ingest.write_templates(series_path, ingest.v1_templates(
            [uuid.uuid4() for _ in range(RUNS)]))
        per_series = ingest.V1_TICKS * ingest.V1_VALUES
        best_series = rising(tool, cluster, series_path, SERIES_RATES,
                             per_series, per_series, "series")
        print("highest lossless: stack samples %s/s, series values %s/s; "
              "stack samples / COPY floor %.2f" %
              (best, best_series, (best or 0) / floor), flush=True)
    finally:
        cluster.stop()


# ------------------------------------------------------------ flame graphs


T0 = "2026-01-05 00:00:00+00"


def make_run(cur, name, hours, leaves_wanted, seed):
    """A run of 10 threads at 100 Hz for hours, written as the inserter
    writes it; returns (uuid, distinct leaves, seconds to write, seconds to
    build rollups)."""
    rng = random.Random(seed)
    rows, leaves = stack_tree(rng, leaves_wanted, 30, 600)
    run = uuid.uuid4()
    defs = definitions(rows, 600, 10)
    t0_us = 1767571200 * 1000000
    msgs = [v1_describe(t0_us, ["orders"], tracer=name)] + defs + \
        [v1_message(3, struct.pack("<q", t0_us + hours * 3600 * 1000000))]
    for i, m in enumerate(msgs):
        cur.execute("SELECT mnemic.ingest_datagram(%s)",
                    (v1_datagram(run, i, [m]),))
    cur.execute("SELECT id FROM mnemic.run WHERE uuid = %s", (str(run),))
    run_id = cur.fetchone()[0]
    seconds = hours * 3600
    t = time.monotonic()
    # A row per thread per second: 100 samples 10 ms apart, the threads 1 ms
    # apart; the stack of sample i is leaf floor(L * u^3), u a hash of i in
    # [0, 1): a few stacks are hot, most are rare, as in real programs.
    cur.execute("""
        INSERT INTO mnemic.prof_sample
            (run_id, thread, t_first, t_last, n, ts, stack, samples, wall, cpu)
        SELECT %(run_id)s, th,
               %(t0)s::timestamptz + s * interval '1 s' + th * interval '1 ms',
               %(t0)s::timestamptz + s * interval '1 s' + th * interval '1 ms'
                 + interval '990 ms',
               100, x.ts, x.stack, x.samples, x.wall, x.cpu
        FROM generate_series(1, 10) th, generate_series(0, %(seconds)s - 1) s,
        LATERAL (
            SELECT array_agg(%(t0)s::timestamptz + s * interval '1 s'
                             + (k * 10 + th) * interval '1 ms' ORDER BY k) ts,
                   array_agg((%(leaves)s::int[])[1 + floor(%(nleaves)s *
                       power(((((s * 100 + k) * 2654435761 + th * 40503)
                               %% 4294967296) / 4294967296.0)::float8, 3))::int]
                             ORDER BY k) stack,
                   array_agg(1 ORDER BY k) samples,
                   array_agg(10000 ORDER BY k) wall,
                   array_agg(CASE WHEN (k + s + th) %% 10 < 7 THEN 10000
                                  ELSE 0 END ORDER BY k) cpu
            FROM generate_series(0, 99) k) x""",
                {"run_id": run_id, "t0": T0, "seconds": seconds,
                 "leaves": leaves, "nleaves": len(leaves)})
    cur.execute("""
        INSERT INTO mnemic.prof_run (run_id, stack_samples, first_sample,
                                     last_sample, max_span)
        VALUES (%s, %s, %s::timestamptz + interval '1 ms',
                %s::timestamptz + %s * interval '1 s' - interval '1 ms',
                interval '990 ms')
        ON CONFLICT (run_id) DO UPDATE SET stack_samples = excluded.stack_samples,
            first_sample = excluded.first_sample,
            last_sample = excluded.last_sample, max_span = excluded.max_span""",
                (run_id, seconds * 1000, T0, T0, seconds))
    written = time.monotonic() - t
    cur.execute("ANALYZE mnemic.prof_sample")
    t = time.monotonic()
    cur.execute("SELECT mnemic.build_profile_rollups(%s)", (str(run),))
    built = time.monotonic() - t
    cur.execute("""
        SELECT (SELECT sum(pg_column_size(p.*)) FROM mnemic.prof_sample p
                WHERE run_id = %s),
               (SELECT sum(pg_column_size(r.*)) FROM mnemic.prof_rollup r
                WHERE run_id = %s)""", (run_id, run_id))
    raw, rollups = cur.fetchone()
    return run, len(leaves), written, built, (raw / (seconds * 1000),
                                              rollups / (seconds * 1000))


def median_ms(cur, sql, params, times=5):
    cur.execute(sql, params)
    cur.fetchall()
    out = []
    for _ in range(times):
        t = time.monotonic()
        cur.execute(sql, params)
        rows = cur.fetchall()
        out.append((time.monotonic() - t) * 1000)
    out.sort()
    return out[len(out) // 2], rows


def window_bench(cur, run, hours):
    whole = (None, None)
    minute = ("2026-01-05 00:17:23.456+00", "2026-01-05 00:18:23.456+00")
    ten = ("2026-01-05 00:17:23.456+00", "2026-01-05 00:27:23.456+00")
    if hours >= 24:
        minute = ("2026-01-05 13:17:23.456+00", "2026-01-05 13:18:23.456+00")
        ten = ("2026-01-05 13:17:23.456+00", "2026-01-05 13:27:23.456+00")
    for label, (a, b) in (("whole run", whole), ("1 minute", minute),
                          ("10 minutes", ten)):
        ms, rows = median_ms(
            cur, "SELECT * FROM mnemic.flamegraph(%s, %s, %s)",
            (str(run), a, b))
        server_ms, _ = median_ms(
            cur, "SELECT count(*) FROM mnemic.flamegraph(%s, %s, %s)",
            (str(run), a, b))
        floor_ms, sums = median_ms(cur, """
            SELECT x.stack, sum(x.cpu) FROM mnemic.prof_sample p
            JOIN mnemic.run r ON r.id = p.run_id,
            LATERAL unnest(p.ts, p.stack, p.cpu) x (ts, stack, cpu)
            WHERE r.uuid = %s
              AND p.t_first >= coalesce(%s::timestamptz, '-infinity')
                               - interval '1 s'
              AND p.t_first <= coalesce(%s::timestamptz, 'infinity')
              AND x.ts BETWEEN coalesce(%s::timestamptz, '-infinity')
                           AND coalesce(%s::timestamptz, 'infinity')
            GROUP BY 1""", (str(run), a, b, a, b), times=3)
        cur.execute("""
            SELECT count(*) FROM mnemic.prof_sample p
            JOIN mnemic.run r ON r.id = p.run_id,
            LATERAL unnest(p.ts) x (ts)
            WHERE r.uuid = %s
              AND x.ts BETWEEN coalesce(%s::timestamptz, '-infinity')
                           AND coalesce(%s::timestamptz, 'infinity')""",
                    (str(run), a, b))
        samples = cur.fetchone()[0]
        print("  %-10s %9d samples %6d stacks %7d nodes  flamegraph "
              "%7.1f ms (%7.1f ms with its rows fetched)  plain SQL sum by "
              "stack of the raw samples %8.1f ms  ratio %.3f" %
              (label, samples, len(sums), len(rows), server_ms, ms, floor_ms,
               server_ms / floor_ms), flush=True)


def flame_bench():
    cluster = TempCluster(settings={"fsync": FSYNC,
                                    "pg_mnemic.enabled": "off"})
    cluster.start()
    try:
        conn = cluster.connect()
        conn.autocommit = True
        cur = conn.cursor()
        print("flame graphs: runs of 10 threads at 100 Hz, stacks of depth "
              "30; medians of 5; load %.1f" % os.getloadavg()[0], flush=True)
        cases = [(1, 200), (1, 2000), (1, 20000)]
        if DAY:
            cases.append((24, 2000))
        for hours, leaves in cases:
            run, n, written, built, size = make_run(
                cur, "bench-flame", hours, leaves, hours * 1000 + leaves)
            samples = hours * 3600 * 1000
            print("run of %d h, %d samples, %d leaf stacks: written in "
                  "%.1f s, rollups built in %.1f s (%.0f samples/s); "
                  "%.1f bytes a sample stored, rollups %.1f more" %
                  (hours, samples, n, written, built, samples / built,
                   size[0], size[1]), flush=True)
            window_bench(cur, run, hours)
        conn.close()
    finally:
        cluster.stop()


def main():
    which = sys.argv[1:] or ["ingest", "flame"]
    work = tempfile.mkdtemp(prefix="mnemic-bench-profile-")
    try:
        if "ingest" in which:
            ingest_bench(work)
        if "flame" in which:
            flame_bench()
    finally:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
