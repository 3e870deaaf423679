"""End to end: traced programs land in PostgreSQL through pg_mnemic.

A real cluster with pg_mnemic preloaded (regress/pgtemp.TempCluster), real
UDP on 127.0.0.1, the real listener; results read from mnemic.samples
(tracer, run, metric, ts, value) and mnemic.run.
"""
import asyncio
import os
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import (DOLON_ROOT, WAIT_FOR_TICKS, free_udp_port, until_ticked,
                      wait_until)
from dolon import profiler, profiling, trace_client, Tracer

pytest.importorskip("pgtemp")


def samples(cluster, tracer):
    return cluster.query(
        "SELECT run::text, metric, ts, value FROM mnemic.samples "
        "WHERE tracer = %s ORDER BY ts", (tracer,))


def wait_samples(cluster, tracer, metric, at_least, timeout=15):
    return cluster.wait_for(
        "SELECT count(*) FROM mnemic.samples WHERE tracer = %s "
        "AND metric = %s", lambda r: r[0][0] >= at_least, timeout=timeout,
        params=(tracer, metric))


def wait_max(cluster, tracer, metric, value, timeout=15):
    """Until the largest stored value of metric is value (the last ticks
    travel with the END datagram and land with the listener's next flush)."""
    return cluster.wait_for(
        "SELECT max(value) FROM mnemic.samples WHERE tracer = %s "
        "AND metric = %s", lambda r: r[0][0] == value, timeout=timeout,
        params=(tracer, metric))


def by_metric(rows):
    out = {}
    for run, metric, ts, value in rows:
        out.setdefault(metric, []).append((ts, value))
    return out


def test_asyncio_program_lands(backend):
    @profiler.profiler
    async def serve(i):
        await asyncio.sleep(0.005)
        return i

    started = time.time()

    async def main():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "e2e-async", 0.1, "127.0.0.1", backend.udp_port,
            trace_client.cpu_percent, trace_client.virtual_memory_percent,
            trace_client.memory_use, trace_client.active_tasks))
        for i in range(200):
            await serve(i)
        # ten ticks at least, and one after the 200 calls (ticks come in
        # the loop, between serve's steps: those counted from now on)
        assert await until_ticked("e2e-async", 1)
        after = profiling.current_run().sender.counters["ticks"] + 1
        assert await until_ticked("e2e-async", max(10, after))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    prefix = serve.stats.name
    wait_samples(backend, "e2e-async", prefix + "_hits", 10)
    wait_max(backend, "e2e-async", prefix + "_hits", 200)
    metrics = by_metric(samples(backend, "e2e-async"))
    assert set(metrics) == {
        "cpu_percent", "virtual_memory_percent", "memory_use",
        "active_tasks", "tracer_cost_us", prefix + "_hits",
        prefix + "_active_instances", prefix + "_average_time"}
    assert all(0 <= v <= 100 for _, v in metrics["cpu_percent"])
    assert all(0 < v < 100 for _, v in metrics["virtual_memory_percent"])
    assert all(0 < v < 4 for _, v in metrics["memory_use"])     # GiB
    assert all(v >= 1 for _, v in metrics["active_tasks"])
    hits = [v for _, v in metrics[prefix + "_hits"]]
    assert hits == sorted(hits) and hits[-1] == 200
    assert 0.004 < metrics[prefix + "_average_time"][-1][1] < 0.5
    # measured, not arrival, time: within the program's run
    ts = [t.timestamp() for t, _ in metrics["cpu_percent"]]
    assert started - 1 < min(ts) and max(ts) < time.time()
    run = backend.query(
        "SELECT r.protocol, r.pid, r.program, r.python_version, "
        "r.ended IS NOT NULL, r.period "
        "FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id "
        "WHERE t.name = 'e2e-async'")
    assert len(run) == 1
    protocol, pid, program, pyver, ended, period = run[0]
    assert protocol == "v1" and pid == os.getpid()
    assert pyver == "%d.%d.%d" % sys.version_info[:3]
    assert period.total_seconds() == pytest.approx(0.1)
    backend.wait_for("SELECT r.ended IS NOT NULL FROM mnemic.run r JOIN "
                     "mnemic.tracer t ON t.id = r.tracer_id WHERE "
                     "t.name = 'e2e-async'", lambda r: r[0][0])


THREADED_PROGRAM = WAIT_FOR_TICKS + textwrap.dedent("""
    import sys, threading
    from dolon import Tracer, profiler

    @profiler.profiler
    def crunch(n):
        return sum(range(n))

    release = threading.Event()

    def worker():
        for _ in range(500):
            crunch(2000)
        release.wait()

    with Tracer("e2e-threads", 0.1, "127.0.0.1", int(sys.argv[1])) as tracer:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        # a whole tick while the four workers are alive (one may be under
        # way as they start)
        wait_for_ticks(tracer.run, tracer.run.sender.counters["ticks"] + 2)
        release.set()
        for t in threads:
            t.join()
        wait_for_ticks(tracer.run, 10)
    print("done")
""")


def run_program(tmp_path, source, *args, env=None):
    script = tmp_path / "program.py"
    script.write_text(source)
    env = dict(os.environ, PYTHONPATH=DOLON_ROOT, **(env or {}))
    return subprocess.run([sys.executable, str(script)] + list(args),
                          env=env, capture_output=True, text=True, timeout=60)


def test_threaded_program_lands(backend, tmp_path):
    proc = run_program(tmp_path, THREADED_PROGRAM, str(backend.udp_port))
    assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr
    wait_samples(backend, "e2e-threads", "crunch_hits", 10)
    wait_max(backend, "e2e-threads", "crunch_hits", 2000)
    metrics = by_metric(samples(backend, "e2e-threads"))
    assert {"cpu_percent", "process_cpu_percent", "thread_count", "open_fds",
            "gc_collections", "memory_use", "crunch_hits",
            "crunch_active_instances", "crunch_average_time",
            "tracer_cost_us"} <= set(metrics)
    assert metrics["crunch_hits"][-1][1] == 2000
    assert max(v for _, v in metrics["thread_count"]) >= 5  # main+4+tracer
    assert all(v > 0 for _, v in metrics["open_fds"])


def test_legacy_json_mode_lands(backend):
    async def main():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "e2e-json", 0.1, "127.0.0.1", backend.udp_port,
            trace_client.cpu_percent, trace_client.memory_use,
            protocol="json"))
        assert await until_ticked("e2e-json", 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    wait_samples(backend, "e2e-json", "memory_use", 5)
    metrics = by_metric(samples(backend, "e2e-json"))
    assert set(metrics) == {"cpu_percent", "memory_use", "tracer_cost_us"}
    assert all(0 < v < 4 for _, v in metrics["memory_use"])
    assert backend.query(
        "SELECT r.protocol FROM mnemic.run r JOIN mnemic.tracer t "
        "ON t.id = r.tracer_id WHERE t.name = 'e2e-json'") == [("json",)]


def test_program_without_backend_runs_to_completion(tmp_path):
    source = textwrap.dedent("""
        import asyncio, sys
        from dolon import trace_client, profiler

        @profiler.profiler
        async def step(i):
            await asyncio.sleep(0.001)
            return i

        async def main():
            asyncio.ensure_future(trace_client.start_tracer(
                "nobody-home", 0.01, "127.0.0.1", int(sys.argv[1]),
                trace_client.cpu_percent, trace_client.memory_use))
            total = 0
            for i in range(300):
                total += await step(i)
            print(total)

        asyncio.run(main())
    """)
    proc = run_program(tmp_path, source, str(free_udp_port()),
                       env={"PYTHONWARNINGS": "error"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "44850"
    assert proc.stderr == ""


def test_hostile_names_land_intact(backend):
    def weird():
        return 3.5
    weird.__name__ = "temp °C'); DROP TABLE mnemic.run;--<b>"
    tracer = "naïve ☃ \"tracer\" <script>"

    with Tracer(tracer, 0.05, "127.0.0.1", backend.udp_port, weird) as t:
        assert wait_until(lambda: t.run.sender.counters["ticks"] >= 3)
    wait_samples(backend, tracer, weird.__name__, 3)
    rows = samples(backend, tracer)
    assert {m for _, m, _, _ in rows} == {weird.__name__, "tracer_cost_us"}
    assert all(v == 3.5 for _, m, _, v in rows if m == weird.__name__)


def test_same_name_profilers_land_as_distinct_metrics(backend):
    with Tracer("e2e-lambdas", 0.05, "127.0.0.1", backend.udp_port,
                lambda: 1.0, lambda: 2.0) as tracer:
        assert wait_until(lambda: tracer.run.sender.counters["ticks"] >= 3)
    wait_samples(backend, "e2e-lambdas", "<lambda>#2", 3)
    metrics = by_metric(samples(backend, "e2e-lambdas"))
    assert {v for _, v in metrics["<lambda>"]} == {1.0}
    assert {v for _, v in metrics["<lambda>#2"]} == {2.0}
