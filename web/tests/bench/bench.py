#!/usr/bin/env python3
"""mnemic-web benchmark: a run of 8 metrics x 1,000,000 points.

Prints
  * API latency of a 1,000-point series request (p50 / p95 over 200 requests
    on one keep-alive connection from loopback), against a floor measured in
    the same run: the same mnemic.series() call made directly with psycopg2,
    so the ratio is what the web tier adds;
  * time from navigation to all 8 charts drawn in headless Chromium
    (draw.mjs), median of 5 loads.
Targets: p95 <= 50 ms; all charts drawn <= 500 ms.  Not a pass/fail test.
Sizes can be lowered for a quick look: BENCH_POINTS=100000.
"""
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import webserver  # noqa: E402
from webserver import TempCluster, WebServer  # noqa: E402

METRICS = 8
POINTS = int(os.environ.get("BENCH_POINTS", "1000000"))
REQUESTS = 200
START = 1704067200.0        # 2024-01-01, one point a second per metric


def load_run(cluster):
    """8 metrics of POINTS points each, generated inside PostgreSQL and
    stored through mnemic.import_series() in chunks."""
    run = str(uuidlib.uuid4())
    chunk = 250000
    conn = cluster.connect()
    try:
        conn.autocommit = True
        cur = conn.cursor()
        for m in range(METRICS):
            for first in range(0, POINTS, chunk):
                n = min(chunk, POINTS - first)
                cur.execute(
                    "SELECT mnemic.import_series('bench', %s::uuid, %s, "
                    "  array_agg(to_timestamp(%s + i) ORDER BY i), "
                    "  array_agg(sin(i / 500.0 + %s) * 100 + random() ORDER BY i)) "
                    "FROM generate_series(%s, %s) i",
                    (run, "metric_%d" % m, START, m, first, first + n - 1))
    finally:
        conn.close()
    return run


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def time_api(web, run):
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    path = "/api/runs/%s/series?metric=metric_3&points=1000" % run
    times = []
    for i in range(REQUESTS + 10):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - t0
        assert resp.status == 200, body[:200]
        if i >= 10:             # the first few warm caches and connections
            times.append(elapsed)
    conn.close()
    return times, len(json.loads(body)["series"][0]["ts"])


def time_sql(cluster, run):
    conn = cluster.connect()
    cur = conn.cursor()
    times = []
    for i in range(REQUESTS + 10):
        t0 = time.perf_counter()
        cur.execute("SELECT ts, value FROM mnemic.series(%s::uuid, 'metric_3', NULL, NULL, 1000, 'm4')",
                    (run,))
        cur.fetchall()
        if i >= 10:
            times.append(time.perf_counter() - t0)
    conn.close()
    return times


def main():
    cluster = TempCluster(settings={"shared_buffers": "'256MB'"})
    web = None
    try:
        cluster.start()
        t0 = time.perf_counter()
        run = load_run(cluster)
        print("loaded %d metrics x %d points in %.1f s" % (METRICS, POINTS, time.perf_counter() - t0))
        cluster.query("VACUUM ANALYZE")
        web = WebServer(cluster.uri(user=webserver.reader_role(cluster))).start()

        api, npoints = time_api(web, run)
        sql = time_sql(cluster, run)
        p50, p95 = percentile(api, 50) * 1e3, percentile(api, 95) * 1e3
        s50, s95 = percentile(sql, 50) * 1e3, percentile(sql, 95) * 1e3
        print("series request, 1,000 px (%d points back), %d requests on loopback:" % (npoints, REQUESTS))
        print("  HTTP  p50 %7.2f ms   p95 %7.2f ms   (target p95 <= 50 ms)" % (p50, p95))
        print("  SQL   p50 %7.2f ms   p95 %7.2f ms   (floor: same call via psycopg2)" % (s50, s95))
        print("  ratio HTTP/SQL  p50 %.2fx   p95 %.2fx" % (p50 / s50, p95 / s95))

        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "draw.mjs")
        out = subprocess.run(["node", script], env=dict(os.environ, BASE_URL=web.base_url, RUN=run,
                                                        METRICS=str(METRICS)),
                             capture_output=True, text=True, timeout=300)
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
