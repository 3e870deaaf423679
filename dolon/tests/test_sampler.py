"""Stack and allocation sampling, end to end over real UDP.

Each test runs a small program in a fresh interpreter, traced with
sampling on, sending to a UDP socket the test owns on 127.0.0.1; what
arrives is decoded by the tests' own reader (v1decode.py) and put back
together by profiles.py.  The programs know the truth about themselves
(how much CPU each function used, when a phase began) and print it; the
tests compare.  No fixed sleeps: every wait is for a condition, with a
deadline.
"""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

import profiles
import v1decode
from conftest import DOLON_ROOT
from dolon import _core

pytestmark = pytest.mark.skipif(
    _core.SAMPLING_UNAVAILABLE is not None,
    reason="stack sampling unavailable: %s" % _core.SAMPLING_UNAVAILABLE)


@pytest.fixture
def sink():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 23)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def run_program(source, sink, tmp_path, args=(), env=None, cli=None,
                timeout=120):
    """Run source as a script (or under `python3 -m dolon` with cli
    options), sending to sink (a socket, or a port); returns what it
    printed last, as JSON (or None)."""
    port = sink if isinstance(sink, int) else sink.getsockname()[1]
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source))
    environ = dict(os.environ, PYTHONPATH=DOLON_ROOT,
                   DOLON_HOST="127.0.0.1",
                   DOLON_PORT=str(port))
    for key in ("DOLON_STACK_HZ", "DOLON_ALLOCATIONS", "DOLON_PROTOCOL",
                "DOLON_KEY"):
        environ.pop(key, None)
    environ.update(env or {})
    command = [sys.executable]
    if cli is not None:
        command += ["-m", "dolon"] + cli
    command += [str(script)] + list(args)
    done = subprocess.run(command, env=environ, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def one_run(sink, count=1):
    runs = profiles.receive_until(sink, profiles.all_ended(count))
    ended = [r for r in runs.values() if r.ended]
    assert len(ended) >= count, "runs seen: %r" % list(runs)
    return ended[0] if count == 1 else ended


# -- what the stacks say ------------------------------------------------------

def test_cpu_split_matches_the_truth_at_100_hz(sink, tmp_path):
    """burn_a takes about 70 % of the CPU and burn_b 30 %, by a calibration
    the program makes; the sampled shares agree within the sampling error."""
    truth = run_program("""
        import json, random, time, dolon

        def spin(n):
            x = 0
            for i in range(n):
                x += i
            return x

        def burn_a(n):
            return spin(n)

        def burn_b(n):
            return spin(n)

        # calibrate: loop iterations per ms of this machine, now
        t0 = time.thread_time()
        spin(200000)
        per_ms = 200000 / ((time.thread_time() - t0) * 1000)
        spent = {"burn_a": 0.0, "burn_b": 0.0}
        rnd = random.Random(7)
        with dolon.Tracer("split", 1.0, stack_hz=100):
            end = time.monotonic() + 6.0
            while time.monotonic() < end:
                # chunks of 0.7 and 0.3 ms on average, jittered so that no
                # rhythm of the program can line up with the sampler's
                for f, ms in ((burn_a, 0.7), (burn_b, 0.3)):
                    n = int(per_ms * ms * rnd.uniform(0.5, 1.5))
                    t0 = time.thread_time()
                    f(n)
                    spent[f.__name__] += time.thread_time() - t0
        total = sum(spent.values())
        print(json.dumps({k: v / total for k, v in spent.items()}))
    """, sink, tmp_path)
    run = one_run(sink)
    main = run.thread_named("MainThread")
    shares = profiles.function_shares(run, ["burn_a", "burn_b"],
                                      run.samples_of(main))
    assert 0.6 < truth["burn_a"] < 0.8, truth
    # within four standard errors of the sampling (0.075 for 600 even
    # samples; wider when a busy machine made the weights uneven), which
    # still tells 70/30 from 50/50 or from the shares swapped
    error, n_eff = profiles.share_error(run, ["burn_a", "burn_b"],
                                        truth["burn_a"], run.samples_of(main))
    assert n_eff > 40, n_eff             # 360 of 601 at load 2, 57 at load 9
    for f in ("burn_a", "burn_b"):
        assert abs(shares[f] - truth[f]) < 4 * error, (shares, truth, n_eff)
    # the busy main thread is on CPU; its samples cover the time it ran
    samples = run.samples_of(main)
    assert len(samples) > 300
    on_cpu = sum(s["weight_us"] for s in samples if s["flags"] & 1)
    assert on_cpu > 0.9 * sum(s["weight_us"] for s in samples)
    covered = sum(s["weight_us"] for s in samples) / 1e6
    assert 5.4 < covered < 6.6, covered


def test_threads_are_told_apart(sink, tmp_path):
    truth = run_program("""
        import json, threading, time, dolon

        def spin_forever(stop):
            x = 0
            while not stop.is_set():
                for i in range(1000):
                    x += i

        def nap(stop):
            while not stop.is_set():
                stop.wait(0.5)

        stop = threading.Event()
        ids = {}
        def named(f):
            def run():
                ids[threading.current_thread().name] = threading.get_native_id()
                f(stop)
            return run
        with dolon.Tracer("threads", 1.0, stack_hz=100) as tracer:
            spinner = threading.Thread(target=named(spin_forever), name="spinner")
            sleeper = threading.Thread(target=named(nap), name="sleeper-é")
            spinner.start(); sleeper.start()
            # until 200 passes over both threads, however slow the machine
            first = tracer.run.profiling.sampler.counters["passes"]
            deadline = time.monotonic() + 60
            while (tracer.run.profiling.sampler.counters["passes"] < first + 200
                   and time.monotonic() < deadline):
                stop.wait(0.05)
            stop.set()
            spinner.join(); sleeper.join()
        ids["MainThread"] = threading.get_native_id()
        print(json.dumps(ids))
    """, sink, tmp_path)
    run = one_run(sink)
    names = {t["name"]: t for t in run.threads.values()}
    for name in ("MainThread", "spinner", "sleeper-é"):
        assert name in names, names
        assert names[name]["native_id"] == truth[name]
    spinner = run.samples_of(names["spinner"]["id"])
    sleeper = run.samples_of(names["sleeper-é"]["id"])
    assert len(spinner) > 50 and len(sleeper) > 50
    assert all("spin_forever" in run.functions_of(s["stack"]) for s in spinner)
    assert all("nap" in run.functions_of(s["stack"]) for s in sleeper)
    # two CPU-bound threads share the GIL: the spinner is on CPU in most of
    # its samples, the sleeper in (almost) none
    busy = sum(1 for s in spinner if s["flags"] & 1) / len(spinner)
    idle = sum(1 for s in sleeper if s["flags"] & 1) / len(sleeper)
    assert busy > 0.6 and idle < 0.1, (busy, idle)


def test_asyncio_sleep_is_idle_and_a_busy_task_on_cpu(sink, tmp_path):
    truth = run_program("""
        import asyncio, json, time, dolon
        from dolon import trace_client

        def busy_loop(seconds):
            end = time.monotonic() + seconds
            x = 0
            while time.monotonic() < end:
                x += 1

        async def sleeper():
            await asyncio.sleep(1.5)

        async def busy():
            busy_loop(1.5)

        async def main():
            tracer = asyncio.ensure_future(trace_client.start_tracer(
                "aio", 0.5, None, None, stack_hz=100))
            await asyncio.sleep(0)
            marks = {"idle_from": dolon._core.wallclock_us()}
            await asyncio.create_task(sleeper(), name="sleeper")
            marks["busy_from"] = dolon._core.wallclock_us()
            await asyncio.create_task(busy(), name="busy")
            marks["busy_to"] = dolon._core.wallclock_us()
            tracer.cancel()
            await asyncio.gather(tracer, return_exceptions=True)
            print(json.dumps(marks))

        asyncio.run(main())
    """, sink, tmp_path)
    run = one_run(sink)
    main = run.thread_named("MainThread")
    margin = 100000
    idle = run.samples_of(main, truth["idle_from"] + margin,
                          truth["busy_from"] - margin)
    busy = run.samples_of(main, truth["busy_from"] + margin,
                          truth["busy_to"] - margin)
    # a loaded machine delays samples, which then stand for more time: the
    # samples cover each window by their weights, however many they are
    for window, start, end in ((idle, "idle_from", "busy_from"),
                               (busy, "busy_from", "busy_to")):
        assert len(window) >= 20, (len(idle), len(busy))
        assert sum(s["weight_us"] for s in window) > 0.7 * (
            truth[end] - truth[start] - 2 * margin)
    assert sum(1 for s in idle if s["flags"] & 1) <= 0.05 * len(idle)
    assert sum(1 for s in busy if s["flags"] & 1) >= 0.9 * len(busy)
    # idle is the loop waiting in select, but for a sample that catches it
    # running the tracer's own tick
    assert sum(1 for s in idle
               if "select" in run.functions_of(s["stack"])[-1]) >= \
        0.95 * len(idle)
    # the running task is the outermost frame, as a frame of kind task
    for s in busy:
        frames = run.frames_of(s["stack"])
        assert frames[0]["frame_kind"] == 2 and frames[0]["function"] == "busy"
        assert "busy_loop" in [f["function"] for f in frames]


def test_deep_recursion_keeps_the_innermost_frames(sink, tmp_path):
    run_program("""
        import sys, time, dolon
        sys.setrecursionlimit(5000)

        def down(n, until):
            if n:
                return down(n - 1, until)
            while time.monotonic() < until:
                pass

        with dolon.Tracer("deep", 1.0, stack_hz=100):
            down(600, time.monotonic() + 0.5)
    """, sink, tmp_path)
    run = one_run(sink)
    deep = [s for s in run.samples if "down" in run.functions_of(s["stack"])]
    assert deep
    for s in deep:
        frames = run.frames_of(s["stack"])
        assert len(frames) == 257
        assert frames[0]["function"] == "<truncated>"
        assert frames[0]["frame_kind"] == 3
        assert all(f["function"] == "down" for f in frames[1:])


# -- allocations ----------------------------------------------------------------

ALLOCATING = """
    import json, time, dolon

    def make_blobs(n, keep):
        for i in range(n):
            keep.append(b"x" * 1_000_000)

    def make_small(n):
        out = []
        for i in range(n):
            out.append({"i": i, "s": str(i)})
        return len(out)

    marks = {}
    with dolon.Tracer("alloc", 1.0, allocations=True):
        kept = []
        make_blobs(100, kept)
        for _ in range(20):
            make_small(10_000)
        marks["kept_us"] = dolon._core.wallclock_us()
        marks["kept_bytes"] = sum(len(b) for b in kept)
        del kept[:]
        marks["freed_us"] = dolon._core.wallclock_us()
        churn = []
        make_blobs(200, churn)
        del churn
        marks["end_us"] = dolon._core.wallclock_us()
    print(json.dumps(marks))
"""


def test_large_bytes_are_the_top_allocation(sink, tmp_path):
    run_program(ALLOCATING, sink, tmp_path)
    run = one_run(sink)
    top = profiles.top_allocators(run)
    assert top[0][0] == "make_blobs", top[:5]
    types = profiles.allocated_types(run, "make_blobs")
    assert types[0][0] == "bytes", types[:5]
    # 300 MB of bytes allocated in make_blobs: the sampled estimate is
    # within a sampling error (512 KiB mean interval) of it
    assert 0.85 * 300e6 < types[0][1] < 1.15 * 300e6, types[:5]
    assert "dict" in dict(profiles.allocated_types(run, "make_small"))


def test_frees_bring_in_use_memory_down(sink, tmp_path):
    marks = run_program(ALLOCATING, sink, tmp_path)
    run = one_run(sink)
    kept = profiles.in_use_bytes(run, marks["kept_us"], "make_blobs")
    after = profiles.in_use_bytes(run, marks["freed_us"], "make_blobs")
    end = profiles.in_use_bytes(run, marks["end_us"], "make_blobs")
    assert 0.7 * marks["kept_bytes"] < kept < 1.3 * marks["kept_bytes"]
    assert after < 0.05 * kept and end < 0.05 * kept, (kept, after, end)
    # every free names an allocation that was sent
    ids = {a["alloc_id"] for a in run.allocs}
    assert all(f["alloc_id"] in ids for f in run.frees)


# -- runs, forks, the wire --------------------------------------------------------

def test_fork_gives_the_child_its_own_run(sink, tmp_path):
    pids = run_program("""
        import json, os, time, dolon

        def spin_until(t):
            while time.monotonic() < t:
                pass

        def child_work():
            spin_until(time.monotonic() + 0.8)

        def parent_work():
            spin_until(time.monotonic() + 0.8)

        tracer = dolon.Tracer("fork", 0.2, stack_hz=100, allocations=True)
        tracer.start()
        spin_until(time.monotonic() + 0.3)
        pid = os.fork()
        if pid == 0:
            child_work()
            tracer.stop()
            os._exit(0)
        parent_work()
        os.waitpid(pid, 0)
        tracer.stop()
        print(json.dumps({"parent": os.getpid(), "child": pid}))
    """, sink, tmp_path)
    parent, child = None, None
    for run in one_run(sink, count=2):
        if run.pid == pids["parent"]:
            parent = run
        elif run.pid == pids["child"]:
            child = run
    assert parent is not None and child is not None
    assert parent.id != child.id
    # each run has its own sequence, from 0, without gaps
    for run in (parent, child):
        assert sorted(run.seqs) == list(range(len(run.seqs))), run.seqs
    parent_functions = {f for s in parent.samples
                        for f in parent.functions_of(s["stack"])}
    child_functions = {f for s in child.samples
                       for f in child.functions_of(s["stack"])}
    assert "child_work" in child_functions
    assert "child_work" not in parent_functions
    assert "parent_work" in parent_functions
    assert "parent_work" not in child_functions


def test_every_datagram_of_a_run_shares_one_sequence(sink, tmp_path):
    run_program("""
        import dolon, time
        with dolon.Tracer("seq", 0.1, stack_hz=200, allocations=65536):
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                [str(i) for i in range(1000)]
    """, sink, tmp_path)
    run = one_run(sink)
    assert sorted(run.seqs) == list(range(len(run.seqs)))
    assert max(run.sizes) <= 1400
    assert run.ticks and run.samples and run.allocs and run.frees


def test_a_keyed_run_signs_its_profile_datagrams(sink, tmp_path):
    """With a key, the profile's datagrams (kinds 0x10-0x16) carry the AUTH
    trailer as the ticks' do, within the same 1,400 bytes, and so do a
    forked child's, under its own run."""
    secret = bytes(range(100, 132))
    pids = run_program("""
        import json, os, time, dolon

        def churn(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                [str(i) for i in range(1000)]

        tracer = dolon.Tracer("signed-profile", 0.1, stack_hz=200,
                              allocations=65536)
        tracer.start()
        churn(0.8)
        pid = os.fork()
        if pid == 0:
            churn(0.5)
            tracer.stop()
            os._exit(0)
        churn(0.5)
        os.waitpid(pid, 0)
        tracer.stop()
        print(json.dumps({"parent": os.getpid(), "child": pid}))
    """, sink, tmp_path, env={"DOLON_KEY": "9:" + secret.hex()})
    runs = {run.pid: run for run in one_run(sink, count=2)}
    assert set(runs) == {pids["parent"], pids["child"]}
    for run in runs.values():
        kinds = set()
        for datagram in run.datagrams:
            assert datagram[5] & 1, "AUTH flag"
            assert datagram[-2] == 9 and datagram[-1] == 16
            assert hmac.new(secret, datagram[:-18], hashlib.sha256).digest()[
                :16] == datagram[-18:-2]
            kinds.update(m["kind"] for m in v1decode.decode(datagram)[
                "messages"])
        assert {"frames", "stacks", "threads", "stack_samples",
                "allocs"} <= kinds, kinds
        assert run.ticks and run.samples and run.allocs
        assert sorted(run.seqs) == list(range(len(run.seqs)))
        assert max(run.sizes) <= 1400


def test_definitions_are_repeated(sink, tmp_path):
    run_program("""
        import dolon, time
        def steady():
            end = time.monotonic() + 4.5
            while time.monotonic() < end:
                pass
        with dolon.Tracer("repeat", 1.0, stack_hz=50):
            steady()
    """, sink, tmp_path)
    run = one_run(sink)
    stack = next(s["stack"] for s in run.samples
                 if "steady" in run.functions_of(s["stack"]))
    # sent with the first flush, then 1 s and 3 s later (1, 2, 4, 8 s apart,
    # then every 10 s)
    assert len(run.definition_times[("stacks", stack)]) >= 3
    assert len(run.definition_times[("threads", 1)]) >= 3


def test_sampler_cpu_is_a_metric(sink, tmp_path):
    run_program("""
        import dolon, time
        with dolon.Tracer("cost", 0.2, stack_hz=100):
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                pass
    """, sink, tmp_path)
    run = one_run(sink)
    names = run.metric_names
    assert "sampler_cpu_percent" in names
    i = names.index("sampler_cpu_percent")
    values = [v[i - first] for _, first, v in run.ticks
              if first <= i < first + len(v)]
    numbers = [v for v in values if v == v]
    assert numbers and all(0 <= v < 20 for v in numbers), values


# -- how it is turned on ------------------------------------------------------------

PROGRAM_0_2_0 = """
    import asyncio, json
    from dolon import profiler, trace_client

    @profiler.profiler
    async def handle(i):
        await asyncio.sleep(0)
        return i

    async def main():
        tracer = asyncio.ensure_future(trace_client.start_tracer(
            "old", 0.1, None, None, trace_client.cpu_percent,
            trace_client.memory_use, trace_client.active_tasks))
        for i in range(20):
            await handle(i)
            await asyncio.sleep(0.02)
        tracer.cancel()
        await asyncio.gather(tracer, return_exceptions=True)

    asyncio.run(main())
"""


def test_a_0_2_0_program_sends_what_it_did(sink, tmp_path):
    run_program(PROGRAM_0_2_0, sink, tmp_path)
    run = profiles.receive_until(sink, lambda runs: any(
        r.ended for r in runs.values()))
    (run,) = run.values()
    assert run.metric_names == [
        "cpu_percent", "memory_use", "active_tasks", "tracer_cost_us",
        "handle_hits", "handle_active_instances", "handle_average_time"]
    assert not (run.samples or run.allocs or run.frees or run.frames or
                run.stacks or run.threads or run.types)
    # and in the legacy protocol, JSON datagrams only, as 0.2.0 sent them
    run_program(PROGRAM_0_2_0, sink, tmp_path, env={"DOLON_PROTOCOL": "json"})
    sink.settimeout(5)
    first = json.loads(sink.recv(70000))
    assert first["msg_type"] == "create_trace_run"
    assert first["column_names"][:3] == ["cpu_percent", "memory_use",
                                         "active_tasks"]


def test_environment_samples_an_unchanged_program(sink, tmp_path):
    run_program(PROGRAM_0_2_0, sink, tmp_path,
                env={"DOLON_STACK_HZ": "100", "DOLON_ALLOCATIONS": "1024"})
    run = one_run(sink)
    assert "sampler_cpu_percent" in run.metric_names
    assert run.samples and run.allocs
    assert any("handle" in run.functions_of(a["stack"]) for a in run.allocs)


def test_cli_samples_a_script_and_a_module(sink, tmp_path):
    source = """
        import json, sys, time
        def work():
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                [i * 2 for i in range(100)]
        work()
        print(json.dumps({"argv": sys.argv[1:]}))
    """
    out = run_program(source, sink, tmp_path, args=["--flag", "x"],
                      cli=["--tracer", "cli", "--stacks", "100",
                           "--allocations"])
    assert out == {"argv": ["--flag", "x"]}
    run = one_run(sink)
    assert any("work" in run.functions_of(s["stack"]) for s in run.samples)
    assert run.allocs
    # -m: the module's name, run as __main__ from the working directory
    (tmp_path / "clitarget.py").write_text(textwrap.dedent(source))
    script = tmp_path / "program.py"
    script.write_text("")
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [DOLON_ROOT, str(tmp_path)]))
    done = subprocess.run(
        [sys.executable, "-m", "dolon", "--tracer", "cli-m", "--port",
         str(sink.getsockname()[1]), "--stacks", "-m", "clitarget"],
        env=environ, cwd=str(tmp_path), capture_output=True, text=True,
        timeout=60)
    assert done.returncode == 0, done.stderr
    run = one_run(sink)
    assert any("work" in run.functions_of(s["stack"]) for s in run.samples)


def test_sampling_scopes_sample_only_inside(sink, tmp_path):
    run_program("""
        import asyncio, time, dolon

        def spin(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                pass

        def outside():
            spin(0.4)

        @dolon.sampling(hz=100)
        def decorated():
            spin(0.4)

        @dolon.sampling(hz=100)
        async def decorated_async():
            await asyncio.sleep(0)
            spin(0.4)

        outside()
        decorated()
        outside()
        with dolon.sampling(hz=100):
            spin(0.4)
        asyncio.run(decorated_async())
        outside()
        dolon.profiling._default_tracer.stop()
    """, sink, tmp_path, env={"DOLON_TRACER": "scoped"})
    run = one_run(sink)
    seen = {f for s in run.samples for f in run.functions_of(s["stack"])}
    assert {"decorated", "decorated_async", "<module>"} <= seen
    assert "outside" not in seen
    assert run.describes[0]["tracer"] == "scoped"


def test_stack_hz_is_capped_and_checked(receiver, monkeypatch):
    from dolon import Tracer, config
    monkeypatch.setattr(config, "_warned", set())
    with pytest.warns(RuntimeWarning, match="limit"):
        tracer = Tracer("cap", 1.0, "127.0.0.1", receiver.port,
                        stack_hz=5000).start()
    assert tracer.run.profiling.hz == 1000
    tracer.stop()
    with pytest.raises(ValueError):
        Tracer("cap", 1.0, "127.0.0.1", receiver.port, stack_hz=-1).start()


def test_a_sampler_error_is_reported_once_and_tracing_goes_on(receiver,
                                                            monkeypatch):
    import warnings
    from conftest import wait_until
    from dolon import Tracer, config
    monkeypatch.setattr(config, "_warned", set())   # once per process
    tracer = Tracer("err", 0.05, "127.0.0.1", receiver.port,
                    stack_hz=100).start()
    sampler = tracer.run.profiling.sampler
    sampler._simulate_error("simulated failure")
    assert wait_until(lambda: sampler.error is not None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ticks = tracer.run.sender.counters["ticks"]
        assert wait_until(lambda: tracer.run.sender.counters["ticks"] > ticks + 3)
    tracer.stop()
    said = [w for w in caught if "simulated failure" in str(w.message)]
    assert len(said) == 1
    assert not sampler.running


def test_unavailable_sampling_says_so_once(receiver, monkeypatch):
    from dolon import Tracer, config, profiling
    monkeypatch.setattr(profiling, "unavailable", lambda: "not on this one")
    monkeypatch.setattr(config, "_warned", set())
    with pytest.warns(RuntimeWarning, match="unavailable: not on this one"):
        with Tracer("na", 1.0, "127.0.0.1", receiver.port, stack_hz=100) as t:
            assert t.run.profiling is None
    kinds = {m["kind"] for d in receiver.drain() for m in
             profiles.v1decode.decode(d)["messages"]}
    assert kinds == {"describe", "ticks", "end"}


def test_legacy_json_traces_without_profiles(receiver, monkeypatch):
    from dolon import Tracer, config
    monkeypatch.setattr(config, "_warned", set())
    with pytest.warns(RuntimeWarning, match="binary v1 only"):
        with Tracer("js", 1.0, "127.0.0.1", receiver.port, stack_hz=100,
                    protocol="json") as t:
            assert t.run.profiling is None
    assert all(d.startswith(b"{") for d in receiver.drain())
