"""The tracers on the wire (real UDP on 127.0.0.1, decoded independently):
start_tracer, dolon.Tracer, python3 -m dolon, JSON mode, never harming the
host program."""
import asyncio
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import uuid
import warnings

import pytest

import v1decode
from conftest import (DOLON_ROOT, WAIT_FOR_TICKS, free_udp_port, trace_ticks,
                      until_ticked, wait_until)
from dolon import _core, profiler, profiling, trace_client, Tracer


def test_start_tracer_v1_datagrams(receiver):
    @profiler.profiler
    async def handler(n):
        await asyncio.sleep(0.001)
        return n

    async def main():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "app-v1", 0.02, "127.0.0.1", receiver.port,
            trace_client.cpu_percent, trace_client.active_tasks,
            trace_client.memory_use))
        for i in range(40):
            await handler(i)
        # ticks come in the loop, between the handler's steps: those
        # counted from now on come after its 40 calls.  Sixty of them at
        # least 0.02 s apart span more than the 1 s flush interval.
        assert await until_ticked("app-v1", 1)
        after = profiling.current_run().sender.counters["ticks"] + 1
        assert await until_ticked("app-v1", max(60, after))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    datagrams = receiver.drain()
    decoded = [v1decode.decode(d) for d in datagrams]
    assert all(len(d) <= 1400 for d in datagrams)
    assert len({d["run"] for d in decoded}) == 1
    assert [d["seq"] for d in decoded] == list(range(len(decoded)))
    kinds = [m["kind"] for d in decoded for m in d["messages"]]
    assert kinds[0] == "describe" and kinds[-1] == "end"
    first = decoded[0]["messages"][0]
    assert first["tracer"] == "app-v1"
    assert first["pid"] == os.getpid()
    assert first["period_us"] == 20000
    assert first["python_version"] == "%d.%d.%d" % sys.version_info[:3]
    names = v1decode.metric_names(datagrams)
    p = handler.stats.name          # test_..._<locals>_handler
    assert p.endswith("<locals>_handler")
    assert [names[i] for i in sorted(names)] == [
        "cpu_percent", "active_tasks", "memory_use", "tracer_cost_us",
        p + "_hits", p + "_active_instances", p + "_average_time"]
    rows = v1decode.rows(datagrams)
    assert len(rows) >= 30
    # many ticks per datagram
    assert max(len(m["ticks"]) for d in decoded for m in d["messages"]
               if m["kind"] == "ticks") >= 10
    ts = [r[0] for r in rows]
    assert ts == sorted(ts)
    now_us = time.time() * 1e6
    assert now_us - 10e6 < ts[0] <= ts[-1] <= now_us
    last = rows[-1][2]
    assert last[4] == 40 and last[5] == 0           # hits, active
    assert 0.0009 < last[6] < 0.1                    # average seconds
    assert last[1] >= 1                              # the tracer task itself
    assert 0 < last[2] < 1                           # GiB
    assert not math.isnan(last[3]) and last[3] > 0   # tracer cost µs


def test_describe_is_repeated_and_metrics_added_later(receiver):
    sender = _core.Sender(
        "127.0.0.1", receiver.port, uuid.uuid4().bytes, "x", "t", "h", "p",
        "3.11.2", 1, 1000, 0, _core.BuiltinReader(), flush_interval_us=0,
        describe_interval_us=1_000_000)
    sender.add_external("a")
    base = 1_700_000_000_000_000
    for i in range(5):                      # 0.5 s apart
        sender.tick(base + i * 500_000, [float(i)])
    sender.add_external("b")
    sender.tick(base + 5 * 500_000, [5.0, 50.0])
    sender.end(base + 6 * 500_000)
    decoded = [v1decode.decode(d) for d in receiver.drain()]
    describes = [(d["seq"], m) for d in decoded for m in d["messages"]
                 if m["kind"] == "describe"]
    # at 0, after 1 s, after 2 s, and when "b" was added
    assert [m["metric_total"] for _, m in describes] == [1, 1, 1, 2]
    assert describes[-1][1]["metrics"] == ["a", "b"]
    values = [t["values"] for d in decoded for m in d["messages"]
              if m["kind"] == "ticks" for t in m["ticks"]]
    assert values == [[0.0], [1.0], [2.0], [3.0], [4.0], [5.0, 50.0]]


def test_describe_backs_off_to_its_interval(receiver):
    sender = _core.Sender(
        "127.0.0.1", receiver.port, uuid.uuid4().bytes, "x", "t", "h", "p",
        "3.11.2", 1, 1000, 0, _core.BuiltinReader(), flush_interval_us=0)
    sender.add_external("a")
    base = 1_700_000_000_000_000
    for i in range(61):                         # 30 s, a tick every 0.5 s
        sender.tick(base + i * 500_000, [float(i)])
    sender.end(base + 61 * 500_000)
    seconds = []
    for d in receiver.drain():
        for m in v1decode.decode(d)["messages"]:
            if m["kind"] == "describe":
                seconds.append(None)
        # the ticks of a datagram carry its time
        ticks = [m for m in v1decode.decode(d)["messages"]
                 if m["kind"] == "ticks"]
        if seconds and seconds[-1] is None and ticks:
            seconds[-1] = (ticks[0]["base_us"] - base) / 1e6
    # 1, 2, 4, 8 s apart, then every 10 s
    assert seconds == [0.0, 1.0, 3.0, 7.0, 15.0, 25.0]


def test_wide_run_is_sliced_within_1400_bytes(receiver):
    funcs = []
    for i in range(80):                         # 240 metrics
        def f():
            return None
        f.__qualname__ = "wide_%03d" % i
        funcs.append(profiler.profiler(f))
    for i, f in enumerate(funcs):
        for _ in range(i):
            f()

    async def main():
        await trace_ticks(1, "wide", 0.05, "127.0.0.1", receiver.port)

    asyncio.run(main())
    datagrams = receiver.drain()
    assert all(len(d) <= 1400 for d in datagrams)
    names = v1decode.metric_names(datagrams)
    assert len(names) == 241
    by_tick = {}
    for ts, first, values in v1decode.rows(datagrams):
        for i, v in enumerate(values):
            by_tick.setdefault(ts, {})[first + i] = v
    complete = [t for t in by_tick.values() if len(t) == 241]
    assert complete
    tick = complete[-1]
    hits = {names[i]: tick[i] for i in tick if names[i].endswith("_hits")}
    assert hits["wide_079_hits"] == 79 and hits["wide_000_hits"] == 0


def test_verbose_as_fifth_positional_and_failing_profilers(receiver, capsys):
    calls = []

    async def broken():
        calls.append(1)
        raise ZeroDivisionError("boom")

    def not_a_number():
        return "high"

    def plain():
        return 7

    async def main():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await trace_ticks(3, "verbose", 0.05, "127.0.0.1",
                              receiver.port, True, broken, not_a_number, plain)
        return caught

    caught = asyncio.run(main())
    assert len(calls) >= 3                       # kept calling it
    messages = [str(w.message) for w in caught]
    assert sum("broken raised ZeroDivisionError" in m for m in messages) == 1
    assert sum("not_a_number returned 'high'" in m for m in messages) == 1
    assert "Sending:" in capsys.readouterr().out
    rows = v1decode.rows(receiver.drain())
    assert rows and all(math.isnan(r[2][0]) and math.isnan(r[2][1])
                        and r[2][2] == 7 for r in rows)


def test_legacy_json_mode_is_0_2_0_format(receiver):
    async def main():
        await trace_ticks(3, "legacy", 0.05, "127.0.0.1", receiver.port,
                          trace_client.cpu_percent, protocol="json")

    asyncio.run(main())
    msgs = [json.loads(d) for d in receiver.drain()]
    header = msgs[0]
    assert header == {"msg_type": "create_trace_run", "app_name": "legacy",
                      "column_names": ["cpu_percent", "tracer_cost_us"],
                      "uuid": header["uuid"]}
    uuid.UUID(header["uuid"])
    rows = [m for m in msgs if m["msg_type"] == "row"]
    assert len(rows) >= 3
    for r in rows:
        assert set(r) == {"msg_type", "row_data", "uuid"}
        assert r["uuid"] == header["uuid"] and len(r["row_data"]) == 2


def test_legacy_json_text_is_what_json_dumps_writes(receiver):
    """Byte for byte, header and rows, hostile and non-ASCII names too."""
    def weird():
        return 2.5
    weird.__name__ = 'q"uo\\te\t\x7f é ☃ 😀 </script>'

    with Tracer('na\u00efve "☃" \\ 😀', 10.0, "127.0.0.1", receiver.port,
                weird, protocol="json"):
        pass
    datagrams = receiver.drain()
    header, row = json.loads(datagrams[0]), json.loads(datagrams[1])
    assert header["app_name"] == 'na\u00efve "☃" \\ 😀'
    assert header["column_names"] == [weird.__name__, "tracer_cost_us"]
    assert datagrams[0] == json.dumps(header).encode("ascii")
    assert row["row_data"][0] == 2.5
    assert datagrams[1] == json.dumps(row).encode("ascii")


def test_legacy_json_header_is_repeated_and_sent_when_metrics_are_added(
        receiver):
    sender = _core.Sender(
        "127.0.0.1", receiver.port, uuid.uuid4().bytes,
        "0b8a4c1e-5e0e-4a57-9f61-3c2d1e0f9a7b", "t", "h", "p", "3.11.2", 1,
        1000, 0, _core.BuiltinReader(), protocol="json")
    sender.add_external("a")
    base = 1_700_000_000_000_000
    for i in range(60):                         # 30 s, a tick every 0.5 s
        if i == 1:
            sender.add_external("b")
        sender.tick(base + i * 500_000, [float(i), 1.0])
    sender.end(base + 60 * 500_000)
    msgs = [json.loads(d) for d in receiver.drain()]
    headers = [(n, m) for n, m in enumerate(msgs)
               if m["msg_type"] == "create_trace_run"]
    rows_before = [sum(1 for m in msgs[:n] if m["msg_type"] == "row")
                   for n, _ in headers]
    # at 0 s; at 0.5 s, when "b" was added; then 2, 4, 8 s after the
    # previous one, and from then on every 10 s (as the v1 DESCRIBE)
    assert rows_before == [0, 1, 5, 13, 29, 49]
    assert ([m["column_names"] for _, m in headers]
            == [["a"]] + [["a", "b"]] * 5)
    assert all(m["uuid"] == "0b8a4c1e-5e0e-4a57-9f61-3c2d1e0f9a7b"
               for m in msgs)
    assert sum(1 for m in msgs if m["msg_type"] == "row") == 60


def test_env_vars_choose_host_port_protocol(receiver, monkeypatch):
    monkeypatch.setenv("DOLON_HOST", "127.0.0.1")
    monkeypatch.setenv("DOLON_PORT", str(receiver.port))
    monkeypatch.setenv("DOLON_PROTOCOL", "json")

    async def main():
        await trace_ticks(1, "env", 0.05, None, None)

    asyncio.run(main())
    msgs = [json.loads(d) for d in receiver.drain()]
    assert msgs and msgs[0]["app_name"] == "env"


def test_bad_arguments_are_clear_errors():
    async def main(*args, **kw):
        await trace_client.start_tracer(*args, **kw)

    with pytest.raises(ValueError, match="protocol"):
        asyncio.run(main("x", 1, "127.0.0.1", 1, protocol="xml"))
    with pytest.raises(ValueError, match="frequency"):
        asyncio.run(main("x", 0, "127.0.0.1", 1))
    with pytest.raises(ValueError, match="port"):
        asyncio.run(main("x", 1, "127.0.0.1", "http"))


def test_no_backend_program_runs_to_completion():
    port = free_udp_port()                      # nothing listens there

    @profiler.profiler
    async def work(i):
        await asyncio.sleep(0.002)
        return i

    async def main():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "nobody", 0.01, "127.0.0.1", port, trace_client.cpu_percent))
        total = sum([await work(i) for i in range(100)])
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return total

    with warnings.catch_warnings():
        warnings.simplefilter("error")          # not even a warning
        assert asyncio.run(main()) == 4950


def test_unroutable_host_is_ignored():
    with Tracer("unroutable", 0.02, "192.0.2.1", 9) as t:
        assert wait_until(lambda: t.run.sender.counters["ticks"] >= 2)
    assert t.run.sender.counters["ticks"] >= 3          # and the one at stop


def test_thread_tracer_start_stop_and_context_manager(receiver):
    @profiler.profiler
    def step(i):
        return i * i

    tracer = Tracer("threads", 0.05, "127.0.0.1", receiver.port)
    tracer.start()
    for i in range(1000):
        step(i)
    time.sleep(0.3)
    tracer.stop()
    datagrams = receiver.drain()
    decoded = [v1decode.decode(d) for d in datagrams]
    assert decoded[-1]["messages"][-1]["kind"] == "end"
    names = v1decode.metric_names(datagrams)
    assert set(names.values()) >= {
        "cpu_percent", "virtual_memory_percent", "memory_use",
        "process_cpu_percent", "thread_count", "open_fds", "gc_collections",
        "tracer_cost_us", step.stats.name + "_hits"}
    index = {n: i for i, n in names.items()}
    last = v1decode.rows(datagrams)[-1][2]
    assert last[index[step.stats.name + "_hits"]] == 1000
    assert last[index["thread_count"]] >= 2          # main + tracer

    with Tracer("threads-cm", 0.05, "127.0.0.1", receiver.port,
                trace_client.thread_count):
        pass
    decoded = [v1decode.decode(d) for d in receiver.drain()]
    # even a program shorter than one period leaves a tick and an END
    kinds = [m["kind"] for d in decoded for m in d["messages"]]
    assert "ticks" in kinds and kinds[-1] == "end"


def test_cli_traces_an_unchanged_script(receiver, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(WAIT_FOR_TICKS + textwrap.dedent("""
        import sys
        from dolon import profiling
        print("args", sys.argv[1:])
        wait_for_ticks(profiling.current_run(), 3)
        sys.exit(3)
    """))
    env = dict(os.environ, PYTHONPATH=DOLON_ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "dolon", "--tracer", "cli-job",
         "--frequency", "0.05", "--port", str(receiver.port), str(script),
         "a", "--b"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert "args ['a', '--b']" in proc.stdout
    datagrams = receiver.drain()
    decoded = [v1decode.decode(d) for d in datagrams]
    assert decoded[0]["messages"][0]["tracer"] == "cli-job"
    assert "job.py" in decoded[0]["messages"][0]["program"]
    assert len(v1decode.rows(datagrams)) >= 3
    assert decoded[-1]["messages"][-1]["kind"] == "end"


def test_tracer_never_stopped_still_ends_at_exit(receiver, tmp_path):
    script = tmp_path / "forgetful.py"
    script.write_text(textwrap.dedent("""
        import sys
        from dolon import Tracer
        Tracer("forgetful", 10.0, "127.0.0.1", int(sys.argv[1])).start()
        print("bye")
    """))
    proc = subprocess.run([sys.executable, str(script), str(receiver.port)],
                          env=dict(os.environ, PYTHONPATH=DOLON_ROOT),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout == "bye\n", proc.stderr
    decoded = [v1decode.decode(d) for d in receiver.drain()]
    kinds = [m["kind"] for d in decoded for m in d["messages"]]
    assert kinds == ["describe", "ticks", "end"]


def test_number_like_values_are_accepted(receiver):
    from decimal import Decimal

    class Gauge:
        def __float__(self):
            return 2.5

    def decimal_value():
        return Decimal("1.25")

    def gauge():
        return Gauge()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Tracer("numbers", 10.0, "127.0.0.1", receiver.port,
                    decimal_value, gauge):
            pass
    rows = v1decode.rows(receiver.drain())
    assert rows[-1][2][:2] == [1.25, 2.5]


def test_thread_tracer_awaits_async_profilers_and_survives_failures(
        receiver):
    async def awaited():
        await asyncio.sleep(0.001)
        return 7

    async def broken():
        await asyncio.sleep(0)
        raise ZeroDivisionError("boom")

    def not_a_number():
        return "high"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Tracer("thread-async", 0.05, "127.0.0.1", receiver.port,
                    awaited, broken, not_a_number) as tracer:
            assert wait_until(
                lambda: tracer.run.sender.counters["ticks"] >= 2)
    messages = [str(w.message) for w in caught]
    assert sum("broken raised ZeroDivisionError" in m for m in messages) == 1
    assert sum("not_a_number returned 'high'" in m for m in messages) == 1
    rows = v1decode.rows(receiver.drain())
    assert len(rows) >= 2
    assert all(r[2][0] == 7 and math.isnan(r[2][1]) and math.isnan(r[2][2])
               for r in rows)


def test_untraceable_profiled_names_are_skipped_not_fatal(receiver):
    def long_one():
        return None
    long_one.__qualname__ = "x" * 1100          # beyond the 1,024-byte limit
    long_one = profiler.profiler(long_one)
    long_one()

    @profiler.profiler
    def fine():
        return None

    fine()
    with pytest.warns(RuntimeWarning, match="not traced"):
        with Tracer("skips", 10.0, "127.0.0.1", receiver.port,
                    trace_client.thread_count):
            pass
    datagrams = receiver.drain()
    names = set(v1decode.metric_names(datagrams).values())
    assert fine.stats.name + "_hits" in names
    assert not any(n.startswith("xxxx") for n in names)
    assert v1decode.rows(datagrams)


def test_hostile_and_unicode_names_travel_intact(receiver):
    def weird():
        return 1.0
    weird.__name__ = "temp °C'; DROP TABLE x;--<script>"

    with Tracer("naïve ☃ tracer", 10.0, "127.0.0.1", receiver.port, weird):
        pass
    datagrams = receiver.drain()
    first = v1decode.decode(datagrams[0])["messages"][0]
    assert first["tracer"] == "naïve ☃ tracer"
    assert first["metrics"][0] == "temp °C'; DROP TABLE x;--<script>"


def test_tracer_name_with_nul_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        Tracer("bad\0name", 1.0, "127.0.0.1", 9).start()


def test_long_non_ascii_strings_are_clipped_to_the_protocol_limit():
    from dolon.run import clip_utf8
    clipped = clip_utf8("a" + "é" * 600 + "\0", 1024)
    assert len(clipped.encode()) == 1023 and "\0" not in clipped
    assert clipped == ("a" + "é" * 600)[:len(clipped)]


def test_cli_runs_a_module(receiver, tmp_path):
    (tmp_path / "jobmod.py").write_text(
        "import sys\nprint('module', __name__, sys.argv[1:])\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([DOLON_ROOT,
                                                       str(tmp_path)]))
    proc = subprocess.run(
        [sys.executable, "-m", "dolon", "--tracer", "cli-mod", "--port",
         str(receiver.port), "--protocol", "json", "-m", "jobmod", "x"],
        env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "module __main__ ['x']\n"
    msgs = [json.loads(d) for d in receiver.drain()]
    assert msgs[0]["app_name"] == "cli-mod"
    assert any(m["msg_type"] == "row" for m in msgs)


def test_traced_event_loop_lag_sees_blocking(receiver):
    async def main():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "lag", 0.05, "127.0.0.1", receiver.port,
            trace_client.event_loop_lag_ms))
        await asyncio.sleep(0.2)
        for _ in range(3):
            time.sleep(0.2)                 # the program blocks its loop
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    lags = [r[2][0] for r in v1decode.rows(receiver.drain())]
    assert max(lags) >= 100
    assert min(lags) < 50


def test_too_large_numbers_warn_once_and_are_left_out(receiver):
    values = iter([10 ** 400, 5, 10 ** 400, -10 ** 400, 7])

    def huge():
        return next(values, 8)

    def fine():
        return 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracer = Tracer("huge", 10.0, "127.0.0.1", receiver.port, huge, fine)
        tracer.start()
        for _ in range(5):
            tracer._tick()
        tracer.stop()
    messages = [str(w.message) for w in caught]
    assert sum("huge returned a number beyond a float's range" in m
               for m in messages) == 1, messages
    rows = [r[2][:2] for r in v1decode.rows(receiver.drain())]
    assert [None if math.isnan(h) else h for h, _ in rows] == \
        [None, 5, None, None, 7, 8]
    assert all(f == 1 for _, f in rows)


def test_same_name_profilers_get_distinct_metric_names(receiver):
    first = lambda: 1.0                                     # noqa: E731
    second = lambda: 2.0                                    # noqa: E731

    def clash():
        return 3.0
    clash.__name__ = "<lambda>#2"                           # taken already

    with Tracer("lambdas", 10.0, "127.0.0.1", receiver.port,
                first, second, clash, lambda: 4.0):
        pass
    datagrams = receiver.drain()
    names = v1decode.metric_names(datagrams)
    assert [names[i] for i in range(4)] == [
        "<lambda>", "<lambda>#2", "<lambda>#2#2", "<lambda>#3"]
    assert v1decode.rows(datagrams)[-1][2][:4] == [1.0, 2.0, 3.0, 4.0]


def test_same_name_profilers_are_distinct_in_json_too(receiver):
    async def main():
        await trace_ticks(1, "lambdas-json", 0.05, "127.0.0.1",
                          receiver.port, lambda: 1, lambda: 2,
                          protocol="json")

    asyncio.run(main())
    msgs = [json.loads(d) for d in receiver.drain()]
    header = [m for m in msgs if m["msg_type"] == "create_trace_run"][-1]
    assert header["column_names"] == ["<lambda>", "<lambda>#2",
                                      "tracer_cost_us"]
    rows = [m["row_data"] for m in msgs if m["msg_type"] == "row"]
    assert rows and all(r[:2] == [1, 2] for r in rows)


# -- the environment's problems never raise into the program ---------------

@pytest.fixture
def fresh_warnings(monkeypatch):
    """dolon warns once per process about its environment: forget that."""
    from dolon import config
    monkeypatch.setattr(config, "_warned", set())
    monkeypatch.setattr(config, "RESOLVE_RETRY_S", 0.02)


JOB = textwrap.dedent("""
    import sys, time
    from dolon import config
    # a program long enough for the tracer's thread to have warned
    deadline = time.monotonic() + 10
    while not config._warned and time.monotonic() < deadline:
        time.sleep(0.01)
    print("ran", sys.argv[1:])
    sys.exit(3)
""")


@pytest.mark.parametrize("env, words", [
    ({"DOLON_PORT": "http"}, "DOLON_PORT must be an integer"),
    ({"DOLON_PORT": "99999"}, "DOLON_PORT must be 1..65535"),
    ({"DOLON_PROTOCOL": "xml"}, "DOLON_PROTOCOL must be one of"),
    ({"DOLON_HOST": "no-such-host.invalid"}, "cannot resolve"),
    ({"DOLON_HOST": "no-such-host.invalid", "PYTHONWARNINGS": "error"},
     "cannot resolve"),
    ({"DOLON_PORT": "http", "PYTHONWARNINGS": "error"}, "DOLON_PORT"),
])
def test_cli_runs_the_script_whatever_the_environment(tmp_path, env, words):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    env = dict(os.environ, PYTHONPATH=DOLON_ROOT, **env)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dolon", "--tracer", "env-job", "--frequency",
         "0.05", str(script), "a"], env=env, capture_output=True, text=True,
        timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "ran ['a']\n"
    warned = [line for line in proc.stderr.splitlines() if "dolon: " in line]
    assert len(warned) == 1 and words in warned[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - started < 10    # never waits on a name server


def test_bad_options_are_usage_errors_and_the_script_does_not_run(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    for options in (["--port", "70000"], ["--port", "http"],
                    ["--frequency", "0"], ["--tracer", ""]):
        args = ["--tracer", "t"] + options if options[0] != "--tracer" \
            else options
        proc = subprocess.run(
            [sys.executable, "-m", "dolon"] + args + [str(script)],
            env=dict(os.environ, PYTHONPATH=DOLON_ROOT), capture_output=True,
            text=True, timeout=30)
        assert proc.returncode == 2 and proc.stdout == "", options
        assert "error: argument" in proc.stderr, proc.stderr


@pytest.mark.parametrize("env", [{"DOLON_PORT": "http"},
                                 {"DOLON_PROTOCOL": "xml"}])
def test_bad_environment_warns_once_and_traces_nothing(
        env, monkeypatch, fresh_warnings, receiver):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    async def main():
        await trace_client.start_tracer("env-async", 0.02, "127.0.0.1", None)
        return "went on"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Tracer("env-thread", 0.02, "127.0.0.1") as tracer:
            pass
        with Tracer("env-thread-2", 0.02, "127.0.0.1"):
            pass
        assert asyncio.run(main()) == "went on"
    assert tracer.run is None
    assert len(caught) == 1 and "nothing is traced" in str(caught[0].message)


class LateNameServer:
    """socket.getaddrinfo for which mnemic.invalid resolves, to 127.0.0.1,
    only from its third lookup on."""

    def __init__(self, monkeypatch):
        import socket
        self.real = socket.getaddrinfo
        self.lookups = 0
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        import socket
        if host != "mnemic.invalid":
            return self.real(host, port, family, type, proto, flags)
        if flags & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "not numeric")
        self.lookups += 1
        if self.lookups < 3:
            raise socket.gaierror(socket.EAI_AGAIN, "name server not ready")
        return self.real("127.0.0.1", port, family, type, proto, flags)


def test_thread_tracer_starts_when_the_host_resolves(
        monkeypatch, fresh_warnings, receiver):
    names = LateNameServer(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Tracer("late-thread", 0.02, "mnemic.invalid", receiver.port,
                    trace_client.thread_count) as tracer:
            assert wait_until(lambda: tracer.run is not None and
                              tracer.run.sender.counters["ticks"] >= 2)
    assert names.lookups == 3
    assert len(caught) == 1 and "cannot resolve 'mnemic.invalid'" in \
        str(caught[0].message)
    datagrams = receiver.drain()
    assert v1decode.decode(datagrams[0])["messages"][0]["tracer"] == \
        "late-thread"
    assert len(v1decode.rows(datagrams)) >= 2


def test_start_tracer_starts_when_the_host_resolves(
        monkeypatch, fresh_warnings, receiver):
    names = LateNameServer(monkeypatch)

    async def main():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "late-async", 0.02, "mnemic.invalid", receiver.port,
            trace_client.thread_count))
        # the first tick leaves at once: wait for it (bounded), then stop
        receiver.sock.setblocking(False)
        loop = asyncio.get_running_loop()
        first = await asyncio.wait_for(loop.sock_recv(receiver.sock, 70000),
                                       timeout=10)
        task.cancel()
        return first
        await asyncio.gather(task, return_exceptions=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = asyncio.run(main())
    assert names.lookups == 3
    assert len(caught) == 1 and "cannot resolve" in str(caught[0].message)
    datagrams = [first] + receiver.drain()
    assert v1decode.decode(first)["messages"][0]["tracer"] == "late-async"
    assert v1decode.rows(datagrams)


def test_stopping_while_the_host_does_not_resolve_is_quiet(fresh_warnings):
    from dolon import config
    with pytest.warns(RuntimeWarning, match="cannot resolve"):
        with Tracer("never", 0.02, "no-such-host.invalid") as tracer:
            assert wait_until(lambda: config._warned)
    assert tracer.run is None


def test_bad_arguments_in_code_still_raise_at_the_call():
    with pytest.raises(ValueError, match="port"):
        Tracer("x", 1.0, "127.0.0.1", 70000).start()
    with pytest.raises(ValueError, match="frequency"):
        Tracer("x", -1, "127.0.0.1", 9).start()
    with pytest.raises(TypeError, match="host"):
        Tracer("x", 1.0, 127001, 9).start()
    with pytest.raises(TypeError, match="callable"):
        Tracer("x", 1.0, "127.0.0.1", 9, 42).start()
