#!/usr/bin/env python3
"""mnemic-web benchmark at fleet scale: 100,000 runs over 200 tracers.

The runs are made in the tables directly (as a year of restarts would
leave them: a few hosts, pids and programs per tracer, every 200th run
active), then ANALYZEd.  Prints

  * mnemic.runs() page latency (50 rows), p50 / p95 over 200 calls each:
    the newest page of a tracer, a page deep in a tracer (keyset), the
    newest page of all runs, a filtered page; against a floor measured in
    the same run, the plain index scan of the same rows;
  * mnemic.tracers() over all runs (what a first paint asks for);
  * a refresh when nothing changed: /api/tracers?changed_since= payload,
    its statement's time in PostgreSQL and the HTTP round trip, against
    SELECT 1 as a floor;
  * a refresh after 10 runs changed (written through import_series, as
    the listener writes): /api/tracers and /api/runs with changed_since;
  * first paint in headless Chromium (fleet.mjs): navigation to the
    tracer list drawn; opening a tracer to its first page; a shared URL to
    an old run until its charts are drawn.
Targets: first paint <= 1 s; idle refresh <= 1 KB and <= 5 ms; page
p95 <= 20 ms.  Not a pass/fail test.  Smaller: BENCH_RUNS=20000.
"""
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import webserver  # noqa: E402
from webserver import TempCluster, WebServer  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "100000"))
TRACERS = 200
CALLS = 200
PAGE = 50
CHANGED = 10
DEEP = min(400, RUNS // TRACERS // 2)      # how deep the deep page is


def load(cluster):
    """TRACERS tracers, RUNS runs, one run with charts; returns seconds."""
    t0 = time.perf_counter()
    cluster.query("""
        INSERT INTO mnemic.tracer (name)
        SELECT 'service-' || lpad(k::text, 3, '0') FROM generate_series(1, %s) k;
        INSERT INTO mnemic.run (uuid, tracer_id, protocol, first_seen, last_seen, started,
                                ended, host, pid, program, period, datagrams, samples)
        SELECT gen_random_uuid(), t.id, 'v1', s, l, s,
               CASE WHEN i %% 3 = 0 THEN l END,
               'host-' || (i %% 37), 1000 + i %% 30000,
               CASE WHEN i %% 5 = 0 THEN 'worker.py' ELSE 'serve.py' END,
               interval '1 s', 100, 1000
        FROM generate_series(1, %s) i
        JOIN mnemic.tracer t ON t.name = 'service-' || lpad((1 + i %% %s)::text, 3, '0')
        CROSS JOIN LATERAL (
            SELECT now() - (i * interval '90 days' / %s) AS s,
                   CASE WHEN i %% 200 = 0 THEN now() + interval '1 day'
                        ELSE now() - (i * interval '90 days' / %s) + interval '2 hours' END AS l
        ) x;
    """, (TRACERS, RUNS, TRACERS, RUNS, RUNS))
    cluster.query("VACUUM ANALYZE mnemic.run")
    cluster.query("VACUUM ANALYZE mnemic.tracer")
    return time.perf_counter() - t0


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(samples):
    return "p50 %6.2f ms  p95 %6.2f ms" % (pct(samples, 50) * 1e3, pct(samples, 95) * 1e3)


def time_sql(cur, sql, args_list):
    times = []
    for args in args_list:
        t0 = time.perf_counter()
        cur.execute(sql, args)
        cur.fetchall()
        times.append(time.perf_counter() - t0)
    return times


def page_latencies(cluster):
    conn = cluster.connect()
    cur = conn.cursor()
    rnd = random.Random(7)
    tracers = [r[0] for r in cluster.query("SELECT name FROM mnemic.tracer ORDER BY name")]
    picks = [rnd.choice(tracers) for _ in range(CALLS)]
    # A keyset deep in each tracer: its DEEP-th newest run.
    keys = {}
    for name in set(picks):
        cur.execute("SELECT started, run FROM mnemic.runs(%s) OFFSET %s LIMIT 1", (name, DEEP))
        keys[name] = cur.fetchone()
    ids = dict(cluster.query("SELECT name, id FROM mnemic.tracer"))
    order = " ORDER BY coalesce(r.started, r.first_seen) DESC, r.uuid DESC LIMIT 50"
    cases = [
        ("newest page of a tracer",
         "SELECT * FROM mnemic.runs(%s, page_size => 50)", [(t,) for t in picks],
         "SELECT r.* FROM mnemic.run r WHERE r.tracer_id = %s" + order,
         [(ids[t],) for t in picks]),
        ("a page %d runs deep" % DEEP,
         "SELECT * FROM mnemic.runs(%s, before_started => %s, before_run => %s, page_size => 50)",
         [(t,) + keys[t] for t in picks],
         "SELECT r.* FROM mnemic.run r WHERE r.tracer_id = %s"
         " AND (coalesce(r.started, r.first_seen), r.uuid) < (%s, %s)" + order,
         [(ids[t],) + keys[t] for t in picks]),
        ("newest page of all runs",
         "SELECT * FROM mnemic.runs(page_size => 50)", [()] * CALLS,
         "SELECT r.* FROM mnemic.run r" + order, [()] * CALLS),
        ("a tracer, host and state filter",
         "SELECT * FROM mnemic.runs(%s, host => 'host-1', state => 'ended', page_size => 50)",
         [(t,) for t in picks],
         "SELECT r.* FROM mnemic.run r WHERE r.tracer_id = %s"
         " AND strpos(lower(r.host), 'host-1') > 0 AND r.ended IS NOT NULL" + order,
         [(ids[t],) for t in picks]),
    ]
    print("mnemic.runs() pages of %d rows, %d calls each (floor: the same rows by plain SQL):"
          % (PAGE, CALLS))
    for label, sql, args, floor_sql, floor_args in cases:
        time_sql(cur, sql, args[:20])       # warm
        got = time_sql(cur, sql, args)
        floor = time_sql(cur, floor_sql, floor_args)
        print("  %-34s %s   floor %s   ratio p95 %.1fx   (target p95 <= 20 ms)"
              % (label, ms(got), ms(floor), pct(got, 95) / pct(floor, 95)))
    full = time_sql(cur, "SELECT * FROM mnemic.tracers()", [()] * 20)
    print("  mnemic.tracers(), all %d runs counted: %s" % (RUNS, ms(full)))
    every = time_sql(cur, "SELECT * FROM mnemic.runs()", [()] * 5)
    print("  mnemic.runs() of every run (what the tree used to ask for): %s" % ms(every))
    conn.close()


class Client:
    """One keep-alive connection to mnemic-web."""

    def __init__(self, web):
        self.conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)

    def get(self, path):
        t0 = time.perf_counter()
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        body = resp.read()
        assert resp.status == 200, (path, resp.status, body[:300])
        return time.perf_counter() - t0, body


def q(**params):
    return urllib.parse.urlencode(params)


def statement_times(cluster, sql, args, n):
    conn = cluster.connect()
    cur = conn.cursor()
    times = time_sql(cur, sql, [args] * n)
    conn.close()
    return times


SQL_TRACERS = ("SELECT c.cursor, t.* FROM mnemic.change_cursor() AS c (cursor)"
               " LEFT JOIN LATERAL mnemic.tracers(NULL, NULL, NULL, NULL, NULL, NULL, %s)"
               " AS t ON true")


def refreshes(cluster, web):
    client = Client(web)
    _, body = client.get("/api/tracers")
    cursor = json.loads(body)["cursor"]
    full_size = len(body)
    # Idle: nothing changed since the cursor.
    path = "/api/tracers?" + q(changed_since=cursor)
    for _ in range(10):
        client.get(path)
    http_times, sizes = [], set()
    for _ in range(CALLS):
        t, body = client.get(path)
        http_times.append(t)
        sizes.add(len(body))
    sql_times = statement_times(cluster, SQL_TRACERS, (cursor,), CALLS)
    floor = statement_times(cluster, "SELECT 1", (), CALLS)
    print("refresh, nothing changed (the tracer list itself: %d bytes):" % full_size)
    print("  payload %s bytes; statement in PostgreSQL %s; HTTP round trip %s"
          % ("/".join(map(str, sorted(sizes))), ms(sql_times), ms(http_times)))
    print("  floor SELECT 1: %s   (target <= 1 KB and <= 5 ms)" % ms(floor))

    # 10 runs change between refreshes, through the store.
    runs = [r[0] for r in cluster.query(
        "SELECT uuid, t.name FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id"
        " ORDER BY r.id LIMIT 400")]
    rnd = random.Random(11)
    tracer_t, runs_t, tracer_b, runs_b, tracer_sql = [], [], [], [], []
    conn = cluster.connect()
    conn.autocommit = True
    cur = conn.cursor()
    for i in range(40):
        _, body = client.get("/api/tracers")
        cursor = json.loads(body)["cursor"]
        for run in rnd.sample(runs, CHANGED):
            cur.execute("SELECT mnemic.import_series(t.name, %s, 'cpu', ARRAY[now()], ARRAY[1.0])"
                        " FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id"
                        " WHERE r.uuid = %s", (run, run))
        t, body = client.get("/api/tracers?" + q(changed_since=cursor))
        tracer_t.append(t)
        tracer_b.append(len(body))
        t0 = time.perf_counter()
        cur.execute(SQL_TRACERS, (cursor,))
        cur.fetchall()
        tracer_sql.append(time.perf_counter() - t0)
        t, body = client.get("/api/runs?" + q(changed_since=cursor, limit=1000))
        runs_t.append(t)
        runs_b.append(len(body))
        assert len(json.loads(body)["runs"]) >= CHANGED
    conn.close()
    print("refresh after %d runs changed (40 times):" % CHANGED)
    print("  /api/tracers?changed_since  %s  payload median %d bytes; statement %s"
          % (ms(tracer_t), statistics.median(tracer_b), ms(tracer_sql)))
    print("  /api/runs?changed_since     %s  payload median %d bytes"
          % (ms(runs_t), statistics.median(runs_b)))


def browser(cluster, web):
    tracer = "service-042"
    old = cluster.query("SELECT run FROM mnemic.runs(%s) OFFSET %s LIMIT 1",
                        (tracer, DEEP))[0][0]
    webserver.import_run(cluster, tracer, {"cpu_percent": float, "rss_bytes": float},
                         1735689600, 600, run=str(old))
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fleet.mjs")
    out = subprocess.run(["node", script],
                         env=dict(os.environ, BASE_URL=web.base_url, TRACER=tracer,
                                  OLD_RUN=str(old), DEEP=str(DEEP)),
                         capture_output=True, text=True, timeout=600)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
    return out.returncode


def main():
    cluster = TempCluster(settings={"shared_buffers": "'256MB'"})
    web = None
    try:
        cluster.start()
        print("loaded %d runs over %d tracers in %.1f s (load average %.1f)"
              % (RUNS, TRACERS, load(cluster), os.getloadavg()[0]))
        web = WebServer(cluster.uri(user=webserver.reader_role(cluster))).start()
        page_latencies(cluster)
        refreshes(cluster, web)
        return browser(cluster, web)
    finally:
        if web is not None:
            web.stop()
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
