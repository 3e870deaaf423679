#!/usr/bin/env python3
"""Browser tests of the mnemic UI: a real cluster, data over real UDP, the
real mnemic-web, and Debian's Chromium driven by playwright-core
(ui.test.mjs).  This script sets the stage and hands the addresses over in
the environment; the node script prints one line per test and a count."""
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import profiles  # noqa: E402
import webserver  # noqa: E402
from webserver import ARTIFACTS, TempCluster, WebServer  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
START = 1704067200.0
IMPORT_TOKEN = "br0wser-import"


def profile_runs(cluster, scratch):
    """Profiled runs for profile.test.mjs, as environment variables."""
    env = {}
    env["PROFILE_RUN"] = profiles.shop_worker("shop-worker").ingest(cluster)
    # Cart.total never slows down here, so it grew in the run above.
    env["PROFILE_BASE"] = profiles.shop_worker("shop-worker", seconds=20,
                                               slows_down=False).ingest(cluster)
    hostile = profiles.Profile("hostile-profile")
    t = hostile.thread("MainThread")
    for i in range(200):
        path = [("main", "<b>app</b>.py", 1), (HOSTILE, "x\"'&;.py", 5)]
        hostile.sample(t, i * 10000, path[:1] if i % 4 == 0 else path)
        hostile.alloc(t, i * 10000 + 1, path, "<img>", 1000)
    env["HOSTILE_PROFILE"] = hostile.ingest(cluster)
    big = profiles.Profile("big-profile")
    t = big.thread("MainThread")
    for i in range(12000):
        big.sample(t, i * 1000, [("main", "big.py", 1), ("caller_%d" % (i % 60), "big.py", 10),
                                 ("leaf_%d" % i, "leaf.py", 100)], 1000)
    env["BIG_PROFILE"] = big.ingest(cluster)
    # A run that the test sends over UDP itself, in steps, to watch it live.
    live = profiles.shop_worker("live-profile", seconds=30)
    live.start_us = int(__import__("time").time() * 1e6) - 30_000_000
    path = os.path.join(scratch, "live-profile.json")
    with open(path, "w") as f:
        json.dump({"run": str(live.run), "datagrams": [d.hex() for d in live.datagrams()[:-1]]}, f)
    env["LIVE_PROFILE"] = path
    return env


FLEET = "fleet-5000"
FLEET_RUNS = 5000
MANY = "many-metrics"


def load_fleet(cluster):
    """FLEET_RUNS runs of one tracer, made in the table (one a minute, on
    four hosts, every 7th ended), and the 4,000th newest given points
    through import_series so that it has charts.  Returns the uuids newest
    first."""
    cluster.query("""
        INSERT INTO mnemic.tracer (name) VALUES (%s);
        INSERT INTO mnemic.run (uuid, tracer_id, protocol, first_seen, last_seen,
                                started, ended, host, pid, program)
        SELECT gen_random_uuid(), (SELECT id FROM mnemic.tracer WHERE name = %s), 'v1',
               s, s + interval '30 s', s, CASE WHEN i %% 7 = 0 THEN s + interval '30 s' END,
               'web-' || (i %% 4), 20000 + i, 'serve.py'
        FROM generate_series(1, %s) i,
             LATERAL (SELECT timestamptz '2025-06-01' + i * interval '1 min' AS s) t
    """, (FLEET, FLEET, FLEET_RUNS))
    runs = [r[0] for r in cluster.query(
        "SELECT run FROM mnemic.runs(%s)", (FLEET,))]
    old = runs[3999]
    webserver.import_run(cluster, FLEET, {"cpu_percent": lambda i: 50 + 10 * math.sin(i / 5),
                                          "requests": float}, START, 60, run=old)
    return runs


def load_many_metrics(cluster):
    """A run of 300 metrics: dolon's 12 built-ins, three for each of 30
    @profiler functions, 198 of its own; 20 points each."""
    builtins = ["cpu_percent", "virtual_memory_percent", "memory_use",
                "process_cpu_percent", "thread_count", "open_fds", "gc_collections",
                "mem_allocation", "active_tasks", "event_loop_lag_ms", "tracer_cost_us",
                "rss_bytes"]
    names = builtins + ["handler_%02d_%s" % (f, s) for f in range(30)
                        for s in ("hits", "active_instances", "average_time")]
    names += ["custom_%03d" % i for i in range(300 - len(names))]
    run = "00000000-0000-4000-8000-0000000abc00"
    cluster.query("""
        SELECT mnemic.import_series(%s, %s, m.name,
                 ARRAY(SELECT to_timestamp(%s + i) FROM generate_series(0, 19) i),
                 ARRAY(SELECT (m.k * 10 + i)::float8 FROM generate_series(0, 19) i))
        FROM unnest(%s::text[]) WITH ORDINALITY AS m (name, k)
    """, (MANY, run, START, names))
    return run, names


def main():
    cluster = TempCluster()
    web = None
    guarded = None
    importer = None
    secrets = tempfile.TemporaryDirectory(prefix="mnemic-web-tls-")
    try:
        cluster.start()
        ui_run = webserver.send_legacy_run(
            cluster, "web-ui-test", ["cpu", "mem", "threads"],
            [[10 + math.sin(i / 3) * 5, 200 + i, 4 + (i % 3)] for i in range(30)])
        hostile_run = webserver.send_legacy_run(
            cluster, HOSTILE, ["<b>bold</b>", "x\"'&;"], [[1, 2], [3, 4], [5, 6]])
        older = webserver.import_run(
            cluster, "compare-me", {"load": lambda i: math.cos(i / 40)}, START, 2000)
        newer = webserver.import_run(
            cluster, "compare-me", {"load": lambda i: math.sin(i / 40)}, START + 7200, 2000)
        live_run = webserver.send_legacy_run(cluster, "web-live-test", ["ticks"],
                                             [[i] for i in range(5)])
        fleet = load_fleet(cluster)
        many_run, many_names = load_many_metrics(cluster)
        cluster.query("VACUUM ANALYZE mnemic.run")
        profile_env = profile_runs(cluster, secrets.name)
        web = WebServer(cluster.uri(user=webserver.reader_role(cluster))).start()
        # Imports need the token and a role that may run import_profile().
        importer = WebServer(cluster.uri(), token=IMPORT_TOKEN).start()
        auth_file = webserver.write_digest_file(os.path.join(secrets.name, "htdigest"),
                                                "mnemic", {"viewer": "s3cret pass"})
        guarded = WebServer(cluster.uri(user=webserver.reader_role(cluster)),
                            tls_cert=webserver.make_tls_cert(secrets.name),
                            extra_args=["--auth-file", auth_file]).start()
        os.makedirs(ARTIFACTS, exist_ok=True)
        env = dict(os.environ, BASE_URL=web.base_url, UDP_PORT=str(cluster.udp_port),
                   UI_RUN=ui_run, HOSTILE_RUN=hostile_run, HOSTILE_TRACER=HOSTILE,
                   COMPARE_OLDER=older, COMPARE_NEWER=newer, LIVE_RUN=live_run,
                   GUARDED_URL=guarded.base_url, GUARDED_USER="viewer",
                   GUARDED_PASSWORD="s3cret pass", ARTIFACTS=ARTIFACTS,
                   IMPORT_URL=importer.base_url, IMPORT_TOKEN=IMPORT_TOKEN,
                   FLEET=FLEET, FLEET_RUNS=json.dumps(fleet[:100]), FLEET_OLD=fleet[3999],
                   FLEET_COUNT=str(FLEET_RUNS), MANY_RUN=many_run,
                   MANY_METRICS=json.dumps(many_names), **profile_env)
        here = os.path.dirname(os.path.abspath(__file__))
        status = 0
        for script in ("ui.test.mjs", "profile.test.mjs"):
            if subprocess.run(["node", os.path.join(here, script)], env=env,
                              timeout=300).returncode != 0:
                status = 1
        return status
    finally:
        for server in (web, guarded, importer):
            if server is not None:
                server.stop()
        cluster.stop()
        secrets.cleanup()


if __name__ == "__main__":
    sys.exit(main())
