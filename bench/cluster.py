"""Benchmark the coordinator: what does answering through it cost?

Starts four pg_mnemic nodes and a coordinator on loopback (regress/
pgnodes.py), BENCH_CLUSTER_RUNS runs on every node (default 500) and on n1
one metric of BENCH_CLUSTER_POINTS points (default 1,000,000, 10 ms apart).
Then, each the median and 95th percentile of BENCH_CLUSTER_CALLS calls
(default 200), direct and coordinator calls interleaved so that load on the
machine hits both alike:

  1. coordinator overhead with one node: runs() and a 1,000-point series()
     on n1 directly, and the same through the coordinator (ratio, and ms
     added at p95; targets <= 1.5x and <= 10 ms);
  2. fan-out: runs() through the coordinator over 1, 2 and 4 nodes, next to
     the sum of the direct calls it replaces (what calling the nodes one
     after another would cost);
  3. the other engine: the same listing as postgres_fdw's asynchronous
     foreign scans of a partitioned table over the same servers.

Prints figures and the load average, never pass/fail.  Run with
`make bench-cluster` (after `make install`).
"""
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "regress"))
from pgnodes import TempNodes  # noqa: E402

RUNS = int(os.environ.get("BENCH_CLUSTER_RUNS", "500"))
POINTS = int(os.environ.get("BENCH_CLUSTER_POINTS", "1000000"))
CALLS = int(os.environ.get("BENCH_CLUSTER_CALLS", "200"))
NODES = 4
SERIES_RUN = str(uuid.UUID(int=0xc105))
RUN_COLUMNS = ("run uuid, tracer text, started timestamptz, last_seen timestamptz,"
               " ended timestamptz, duration interval, samples bigint,"
               " datagrams bigint, lost bigint, state text, host text, pid int,"
               " program text, stack_samples bigint, alloc_samples bigint")


def connect(cluster):
    conn = cluster.connect()
    conn.autocommit = True
    return conn.cursor()


def timed(cur, sql, params=None):
    started = time.perf_counter()
    cur.execute(sql, params)
    rows = cur.fetchall()
    return (time.perf_counter() - started) * 1000.0, len(rows)


def stats(times):
    times = sorted(times)
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def interleaved(calls):
    """calls: {label: (cursor, sql, params)}; times of each, interleaved."""
    times = {label: [] for label in calls}
    rows = {}
    for label, (cur, sql, params) in calls.items():     # warm up
        for _ in range(5):
            timed(cur, sql, params)
    for _ in range(CALLS):
        for label, (cur, sql, params) in calls.items():
            ms, rows[label] = timed(cur, sql, params)
            times[label].append(ms)
    return times, rows


def load(nodes):
    for node in nodes.nodes:
        node.query("SELECT mnemic.import_series('bench-cluster', gen_random_uuid(), 'm',"
                   " ARRAY[now()], ARRAY[1.0]) FROM generate_series(1, %s)", (RUNS,))
    started = time.monotonic()
    for first in range(0, POINTS, 200000):
        nodes.nodes[0].query(
            "SELECT mnemic.import_series('bench-series', %s, 'signal',"
            " array_agg(timestamptz '2026-01-01' + i * interval '10 ms' ORDER BY i),"
            " array_agg(sin(i / 5000.0) * 100 ORDER BY i))"
            " FROM generate_series(%s, %s) i",
            (SERIES_RUN, first, min(first + 200000, POINTS) - 1))
    return time.monotonic() - started


def set_nodes(nodes, count):
    """Register exactly the first count nodes."""
    c = nodes.coordinator
    registered = {r[0] for r in c.query("SELECT name FROM mnemic.node")}
    for name, node in zip(nodes.names, nodes.nodes):
        want = nodes.names.index(name) < count
        if want and name not in registered:
            c.query("SELECT mnemic.add_node(%s, %s)", (name, nodes.conninfo(node)))
        elif not want and name in registered:
            c.query("SELECT mnemic.remove_node(%s)", (name,))


def fdw_listing(nodes):
    """A partitioned table of foreign tables over each node's runs()."""
    c = nodes.coordinator
    c.query("CREATE TABLE bench_runs (node text, %s) PARTITION BY LIST (node)"
            % RUN_COLUMNS)
    for name, node in zip(nodes.names, nodes.nodes):
        node.query("CREATE SCHEMA bench; CREATE VIEW bench.runs AS"
                   " SELECT %s::text AS node, * FROM mnemic.runs();"
                   " GRANT USAGE ON SCHEMA bench TO mnemic_reader;"
                   " GRANT SELECT ON bench.runs TO mnemic_reader" % ("'%s'" % name))
        c.query("ALTER SERVER mnemic_node_%s OPTIONS (ADD async_capable 'true')" % name)
        c.query("CREATE FOREIGN TABLE bench_runs_%s PARTITION OF bench_runs"
                " FOR VALUES IN ('%s') SERVER mnemic_node_%s"
                " OPTIONS (schema_name 'bench', table_name 'runs')" % (name, name, name))


def report(label, times, rows, base=None):
    med, p95 = stats(times)
    line = "%-42s %8.2f %8.2f %7d" % (label, med, p95, rows)
    if base is not None:
        bmed, bp95 = stats(base)
        line += "   %5.2fx  %+7.2f ms at p95" % (med / bmed, p95 - bp95)
    print(line, flush=True)


def main():
    print("cluster benchmark: %d nodes + coordinator on loopback, %d runs per node,"
          " %d points in the series, %d calls each; %d CPUs, load average %s"
          % (NODES, RUNS, POINTS, CALLS, os.cpu_count(),
             " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    with TempNodes(NODES) as nodes:
        print("load: %.1f s" % load(nodes), flush=True)
        direct = [connect(n) for n in nodes.nodes]
        coord = connect(nodes.coordinator)
        series = "SELECT * FROM mnemic.series(%s, 'signal', points => 1000)"
        print("%-42s %8s %8s %7s" % ("", "median", "p95", "rows"))

        print("-- coordinator overhead, one node (ms)")
        set_nodes(nodes, 1)
        times, rows = interleaved({
            "runs": (direct[0], "SELECT * FROM mnemic.runs()", None),
            "coord runs": (coord, "SELECT * FROM mnemic.runs()", None),
            "series": (direct[0], series, (SERIES_RUN,)),
            "coord series": (coord, series, (SERIES_RUN,)),
        })
        report("runs() direct", times["runs"], rows["runs"])
        report("runs() through the coordinator", times["coord runs"],
               rows["coord runs"], times["runs"])
        report("series(1,000 points) direct", times["series"], rows["series"])
        report("series(1,000 points) through the coordinator",
               times["coord series"], rows["coord series"], times["series"])

        print("-- fan-out: runs() over 1, 2 and 4 nodes (ms)")
        one = None
        for count in (1, 2, 4):
            set_nodes(nodes, count)
            calls = {"coord": (coord, "SELECT * FROM mnemic.runs()", None)}
            for i in range(count):
                calls["n%d" % i] = (direct[i], "SELECT * FROM mnemic.runs()", None)
            times, rows = interleaved(calls)
            sequential = [sum(t) for t in zip(*(times["n%d" % i] for i in range(count)))]
            one = one or times["coord"]
            report("%d node(s) through the coordinator" % count, times["coord"],
                   rows["coord"], one)
            report("%d node(s), sum of the direct calls" % count, sequential,
                   rows["coord"], one)

        print("-- the same listing by postgres_fdw async foreign scans (ms)")
        fdw_listing(nodes)
        for name in nodes.names:
            nodes.coordinator.query("CREATE USER MAPPING FOR postgres SERVER"
                                    " mnemic_node_%s OPTIONS (user 'postgres')" % name)
        fdw = "SELECT * FROM bench_runs WHERE node = ANY (%s) ORDER BY started DESC, run DESC"
        for count in (1, 2, 4):
            times, rows = interleaved({
                "dblink": (coord, "SELECT * FROM mnemic.runs()", None)
                if count == 4 else (coord, "SELECT 1", None),
                "fdw": (coord, fdw, (nodes.names[:count],)),
            })
            report("%d node(s), postgres_fdw async" % count, times["fdw"], rows["fdw"], one)
            if count == 4:
                report("4 node(s), dblink (mnemic.runs())", times["dblink"],
                       rows["dblink"], one)
    print("load average after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
