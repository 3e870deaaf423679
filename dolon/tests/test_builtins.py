"""Each built-in measurement against an independent source."""
import asyncio
import gc
import os
import threading
import time
import tracemalloc

import psutil
import pytest

from dolon import _core, trace_client


def read(code):
    return _core.BuiltinReader().read(code)


def test_memory_use_matches_proc_status():
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f
                  if line.startswith("VmRSS:"))
    gib = asyncio.run(trace_client.memory_use())
    assert gib == pytest.approx(kb * 1024 / 2 ** 30, rel=0.05)
    assert read(_core.RSS_MB) == pytest.approx(kb * 1024 / 1e6, rel=0.05)


def test_memory_use_matches_psutil():
    rss = psutil.Process().memory_info().rss
    assert read(_core.MEMORY_USE) == pytest.approx(rss / 2 ** 30, rel=0.05)


def test_virtual_memory_percent_matches_psutil():
    ours = asyncio.run(trace_client.virtual_memory_percent())
    theirs = psutil.virtual_memory().percent
    assert 0 < ours < 100
    assert ours == pytest.approx(theirs, abs=2.0)


def _spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_cpu_percent_matches_psutil_over_the_same_interval():
    reader = _core.BuiltinReader()
    psutil.cpu_percent(None)
    reader.read(_core.CPU_PERCENT)
    _spin(0.6)                      # make sure there is some load to see
    theirs = psutil.cpu_percent(None)
    ours = reader.read(_core.CPU_PERCENT)
    assert 0 < ours <= 100
    assert ours == pytest.approx(theirs, abs=15.0)


def test_process_cpu_percent_sees_a_busy_thread():
    reader = _core.BuiltinReader()
    reader.read(_core.PROCESS_CPU_PERCENT)
    before = psutil.Process().cpu_times()
    t0 = time.monotonic()
    _spin(0.5)
    wall = time.monotonic() - t0
    after = psutil.Process().cpu_times()
    ours = reader.read(_core.PROCESS_CPU_PERCENT)
    theirs = 100 * ((after.user + after.system) -
                    (before.user + before.system)) / wall
    # on a shared machine the spinning thread may get much less than a core
    assert ours > 5
    assert ours == pytest.approx(theirs, abs=20.0)


def test_process_cpu_percent_idle_is_low():
    reader = _core.BuiltinReader()
    reader.read(_core.PROCESS_CPU_PERCENT)
    time.sleep(0.3)
    assert reader.read(_core.PROCESS_CPU_PERCENT) < 20


def test_thread_count_follows_threads():
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        ours = read(_core.THREAD_COUNT)
        assert ours == len(os.listdir("/proc/self/task"))
        assert ours == psutil.Process().num_threads()
        assert ours >= threading.active_count()
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_open_fds_follows_opened_files():
    before = read(_core.OPEN_FDS)
    # psutil counts the descriptor it lists /proc/self/fd with; we do not
    assert before == psutil.Process().num_fds() - 1
    files = [open(os.devnull) for _ in range(5)]
    try:
        assert read(_core.OPEN_FDS) == before + 5
    finally:
        for f in files:
            f.close()


def test_gc_collections_counts_collections():
    before = read(_core.GC_COLLECTIONS)
    expected = sum(g["collections"] for g in gc.get_stats())
    assert before == expected
    gc.collect()
    assert read(_core.GC_COLLECTIONS) >= before + 1


def test_mem_allocation_follows_tracemalloc():
    tracemalloc.start()
    try:
        blob = bytearray(5_000_000)
        mb = asyncio.run(trace_client.mem_allocation())
        assert mb == pytest.approx(
            tracemalloc.get_traced_memory()[0] / 1e6, rel=0.2)
        assert mb >= 5.0
        del blob
    finally:
        tracemalloc.stop()


def test_mem_allocation_without_tracemalloc_warns_not_crashes(monkeypatch):
    from dolon import builtin_metrics
    monkeypatch.setattr(builtin_metrics, "_warned_tracemalloc", False)
    assert not tracemalloc.is_tracing()
    with pytest.warns(RuntimeWarning, match="tracemalloc"):
        assert asyncio.run(trace_client.mem_allocation()) is None


def test_active_tasks_matches_all_tasks():
    async def main():
        release = asyncio.Event()
        tasks = [asyncio.ensure_future(release.wait()) for _ in range(4)]
        done = asyncio.ensure_future(asyncio.sleep(0))
        await done
        ours = await trace_client.active_tasks()
        theirs = len([t for t in asyncio.all_tasks() if not t.done()])
        release.set()
        await asyncio.gather(*tasks)
        return ours, theirs

    ours, theirs = asyncio.run(main())
    assert ours == theirs == 5      # 4 waiting + main itself


def test_event_loop_lag_sees_a_blocked_loop():
    async def blocker():
        time.sleep(0.1)             # blocks the loop on its first step

    async def main():
        asyncio.ensure_future(blocker())
        return await trace_client.event_loop_lag_ms()

    assert asyncio.run(main()) >= 90


def test_unknown_metric_code_is_refused():
    with pytest.raises(ValueError):
        _core.BuiltinReader().read(999)


def test_a_forked_child_reads_its_own_proc_files():
    """The reader keeps /proc/self files open; a child forked since reads
    its own, not its parent's."""
    reader = _core.BuiltinReader()
    parent = reader.read(_core.MEMORY_USE)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            grown = bytearray(b"x" * (64 << 20))      # the child only
            with open("/proc/self/statm") as f:
                pages = int(f.read().split()[1])
            ours = reader.read(_core.MEMORY_USE) * 2 ** 30
            os.write(w, ("%d %d" % (pages * os.sysconf("SC_PAGESIZE"),
                                    ours)).encode())
            del grown
        finally:
            os._exit(0)
    os.close(w)
    truth, ours = map(int, os.read(r, 100).split())
    os.close(r)
    os.waitpid(pid, 0)
    assert abs(ours - truth) < 4 << 20
    assert ours > parent * 2 ** 30 + (32 << 20)
