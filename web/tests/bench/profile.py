#!/usr/bin/env python3
"""mnemic-web profile benchmark: an hour of a program sampled at 100 Hz in
10 threads (3,600,000 stack samples).

Prints
  * how long the run took to store (binary v1 datagrams built in Python,
    stored with mnemic.ingest_datagram() in large transactions, then the
    rollups built);
  * API latency of a flame graph request for the whole run and for a
    one-minute window (p50 / p95 over REQUESTS requests on one keep-alive
    connection), against a floor measured in the same run: the same
    mnemic.flamegraph() call made directly with psycopg2, so the ratio is
    what the web tier adds;
  * in headless Chromium (profile_draw.mjs): from a range selected on a
    chart to the flame graph redrawn, and the time to draw a 10,000-node
    tree, against a bare canvas filling the same rectangles.
Targets: p95 <= 150 ms; redraw <= 300 ms; 10,000 nodes <= 16 ms a frame.
Not a pass/fail test.  BENCH_PROFILE_SECONDS=600 makes a quicker run.
"""
import http.client
import json
import os
import random
import struct
import subprocess
import sys
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import webserver  # noqa: E402
from profiles import START_US  # noqa: E402
from v1wire import (frames, stacks, threads, v1_datagram, v1_describe,  # noqa: E402
                    v1_message, v1_ticks)

SECONDS = int(os.environ.get("BENCH_PROFILE_SECONDS", "3600"))
HZ = 100
THREADS = 10
REQUESTS = 40
SAMPLE_ROW = struct.Struct("<IIIBQ")
PER_MESSAGE = 3000


def program(rng):
    """Frames and a tree of 2,000 stacks up to 25 deep over them, as the
    v1 definitions, and the leaves' ids."""
    frame_rows = [(i, 10 * i, 0, "%s_%d" % (rng.choice(["handle", "parse", "load", "render",
                                                       "compute", "encode", "query"]), i),
                   "pkg/mod%d.py" % (i % 15)) for i in range(1, 121)]
    stack_rows = []
    depth = {0: 0}
    for sid in range(1, 2001):
        parent = 0 if sid <= 5 else rng.choice([s for s in range(max(1, sid - 200), sid)
                                                if depth[s] < 25])
        frame = rng.randint(1, len(frame_rows))
        stack_rows.append((sid, parent, frame, 10 * frame + 3))
        depth[sid] = depth[parent] + 1
    return frame_rows, stack_rows


def datagrams(run, rng):
    """Every datagram of the run, in order."""
    frame_rows, stack_rows = program(rng)
    defs = [v1_describe(START_US, ["requests"], tracer="bench-profile", host="bench",
                        period_us=1_000_000, program="python3 -m bench")]
    for i in range(0, len(frame_rows), 60):
        defs.append(frames(frame_rows[i:i + 60]))
    for i in range(0, len(stack_rows), 1000):
        defs.append(stacks(stack_rows[i:i + 1000]))
    defs.append(threads([(t, 5000 + t, "worker-%d" % t) for t in range(1, THREADS + 1)]))
    seq = 0
    out = []
    for m in defs:
        out.append(v1_datagram(run, seq, [m]))
        seq += 1
    ids = [s[0] for s in stack_rows]
    step = 1_000_000 // HZ
    total = SECONDS * HZ
    for tid in range(1, THREADS + 1):
        # Each thread has its own hot stacks (a Zipf-like choice).
        weights = [1.0 / (1 + ((i * 7919 + tid * 104729) % len(ids))) for i in range(len(ids))]
        picks = rng.choices(ids, weights, k=50_000)
        cpu = [rng.random() < 0.7 for _ in range(997)]
        for first in range(0, total, PER_MESSAGE):
            n = min(PER_MESSAGE, total - first)
            base = START_US + first * step + tid * 97
            body = struct.pack("<qIHH", base, tid, n, 0) + b"".join(
                SAMPLE_ROW.pack(k * step, picks[(first + k) % 50_000], step,
                                cpu[(first + k) % 997], 200_000_000 + (first + k) * 10)
                for k in range(n))
            out.append(v1_datagram(run, seq, [v1_message(0x13, body)]))
            seq += 1
    for first in range(0, SECONDS, 1000):
        rows = [[float(s % 50)] for s in range(first, min(SECONDS, first + 1000))]
        out.append(v1_datagram(run, seq, [v1_ticks(START_US + first * 1_000_000, rows)]))
        seq += 1
    out.append(v1_datagram(run, seq, [v1_message(3, struct.pack("<q", START_US + SECONDS * 1_000_000))]))
    return out


def load_run(cluster):
    run = uuidlib.uuid4()
    t0 = time.perf_counter()
    grams = datagrams(run, random.Random(12))
    built = time.perf_counter() - t0
    conn = cluster.connect()
    try:
        cur = conn.cursor()
        t1 = time.perf_counter()
        for i, d in enumerate(grams):
            cur.execute("SELECT mnemic.ingest_datagram(%s)", (d,))
            if i % 200 == 199:
                conn.commit()
        conn.commit()
        stored = time.perf_counter() - t1
        t2 = time.perf_counter()
        cur.execute("SELECT mnemic.build_profile_rollups(%s::uuid)", (str(run),))
        conn.commit()
        rolled = time.perf_counter() - t2
    finally:
        conn.close()
    samples = SECONDS * HZ * THREADS
    print("run: %d s x %d Hz x %d threads = %s stack samples in %d datagrams" % (
        SECONDS, HZ, THREADS, format(samples, ","), len(grams)))
    print("  built in %.1f s, stored in %.1f s (%s samples/s), rollups in %.1f s" % (
        built, stored, format(int(samples / stored), ","), rolled))
    return str(run)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def windows():
    """(label, [(from, to) per request]): the whole run, and a minute
    somewhere in its middle half, another each time."""
    t0 = START_US / 1e6
    minutes = [(t0 + SECONDS / 4 + 60 * (i % max(1, SECONDS // 120)),) for i in range(REQUESTS + 5)]
    return [("whole run", [(None, None)] * (REQUESTS + 5)),
            ("1-minute window", [(m[0], m[0] + 60) for m in minutes])]


def time_api(web, run, spans):
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=60)
    times = []
    nodes = 0
    for i, (a, b) in enumerate(spans):
        path = "/api/runs/%s/flamegraph" % run
        if a is not None:
            path += "?from=%.6f&to=%.6f" % (a, b)
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - t0
        assert resp.status == 200, body[:300]
        if i >= 5:
            times.append(elapsed)
        nodes = json.loads(body)["nodes"]
    conn.close()
    return times, nodes


def time_sql(cluster, run, spans):
    conn = cluster.connect()
    cur = conn.cursor()
    times = []
    for i, (a, b) in enumerate(spans):
        t0 = time.perf_counter()
        cur.execute("SELECT * FROM mnemic.flamegraph(%s::uuid, to_timestamp(%s), to_timestamp(%s))",
                    (run, a, b))
        cur.fetchall()
        if i >= 5:
            times.append(time.perf_counter() - t0)
    conn.close()
    return times


def main():
    cluster = webserver.TempCluster(settings={"shared_buffers": "'256MB'"})
    web = None
    try:
        cluster.start()
        run = load_run(cluster)
        cluster.query("VACUUM ANALYZE")
        web = webserver.WebServer(cluster.uri(user=webserver.reader_role(cluster))).start()
        for label, spans in windows():
            api, nodes = time_api(web, run, spans)
            sql = time_sql(cluster, run, spans)
            a50, a95 = percentile(api, 50) * 1e3, percentile(api, 95) * 1e3
            s50, s95 = percentile(sql, 50) * 1e3, percentile(sql, 95) * 1e3
            print("flame graph, %s (%d nodes), %d requests:" % (label, nodes, REQUESTS))
            print("  HTTP  p50 %7.2f ms   p95 %7.2f ms   (target p95 <= 150 ms)" % (a50, a95))
            print("  SQL   p50 %7.2f ms   p95 %7.2f ms   (floor: mnemic.flamegraph() via psycopg2)"
                  % (s50, s95))
            print("  ratio HTTP/SQL  p50 %.2fx   p95 %.2fx" % (a50 / s50, a95 / s95))
        script = os.path.join(HERE, "profile_draw.mjs")
        out = subprocess.run(["node", script], env=dict(os.environ, BASE_URL=web.base_url, RUN=run),
                             capture_output=True, text=True, timeout=600)
        sys.stdout.write(out.stdout)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            return 1
        return 0
    finally:
        if web is not None:
            web.stop()
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
