"""Smoke test of the C core on other Python versions (no pytest needed).

Run by `make check-compat` with each interpreter found; exits non-zero on
the first failure.
"""
import asyncio
import socket
import sys
import threading
import time

import identity_cases
import profiles
from dolon import Tracer, _core, profiler, trace_client


@profiler.profiler
def sync_fn(x):
    return x + 1


@profiler.profiler
async def async_fn(x):
    await asyncio.sleep(0)
    return x * 2


class K:
    @profiler.profiler
    def method(self):
        return self


def main():
    assert sync_fn(1) == 2 and K().method() is not None
    try:
        sync_fn()
    except TypeError:
        pass
    else:
        raise AssertionError("TypeError expected")
    assert sync_fn.stats.hits == 2 and sync_fn.stats.active_instances == 0

    async def run_async():
        r = await asyncio.gather(*(async_fn(i) for i in range(5)))
        return r, await trace_client.active_tasks()

    values, tasks = asyncio.run(run_async())
    assert values == [0, 2, 4, 6, 8] and tasks >= 1, (values, tasks)
    assert async_fn.stats.hits == 5 and async_fn.stats.active_instances == 0

    threads = [threading.Thread(target=lambda: [sync_fn(i) for i in
                                                range(10000)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sync_fn.stats.hits == 40002

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))

    async def trace():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "compat", 0.02, "127.0.0.1", receiver.getsockname()[1],
            trace_client.cpu_percent, trace_client.memory_use))
        # the first tick leaves at once: wait for it (bounded), then stop
        receiver.setblocking(False)
        first = await asyncio.wait_for(
            asyncio.get_running_loop().sock_recv(receiver, 70000), 30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return first

    first = asyncio.run(trace())
    assert first[:5] == b"MNEM\x01", first[:8]
    with Tracer("compat-thread", 0.02, "127.0.0.1",
                receiver.getsockname()[1]):
        pass
    profiler.clear()
    assert sync_fn(1) == 2 and sync_fn.stats.hits == 1
    compared = identity_cases.main()
    print("ok", sys.version.split()[0], "(%d inspect comparisons)" % compared,
          check_sampling())


def leaf_spin(done):
    while not done():
        for _ in range(2000):
            pass


def middle(done):
    leaf_spin(done)


def outer(done):
    middle(done)


class Worker:
    def run(self, done):
        outer(done)


def after_passes(sampler, passes, limit=10.0):
    """A done() for the workers: once the sampler has made so many more
    passes (a crowded machine makes fewer a second), or after limit s."""
    until = sampler.counters["passes"] + passes
    deadline = time.monotonic() + limit
    return lambda: (sampler.counters["passes"] >= until or
                    time.monotonic() > deadline)


def allocate_blobs():
    return [b"x" * 200000 for _ in range(100)]


def check_sampling():
    """The stacks of a known program, read from this interpreter's frames:
    the right functions in the right order, in this file, at lines inside
    them; a named thread; large bytes allocated where they are."""
    if _core.SAMPLING_UNAVAILABLE is not None:
        return "(sampling unavailable: %s)" % _core.SAMPLING_UNAVAILABLE
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    receiver.bind(("127.0.0.1", 0))
    with Tracer("compat-sampling", 0.1, "127.0.0.1",
                receiver.getsockname()[1], stack_hz=200,
                allocations=64 * 1024) as tracer:
        sampler = tracer.run.profiling.sampler
        helper = threading.Thread(target=Worker().run, name="helper",
                                  args=(after_passes(sampler, 60),))
        helper.start()
        Worker().run(after_passes(sampler, 120))
        helper.join()
        kept = allocate_blobs()
        counters = sampler.counters
    run = profiles.receive_until(receiver, profiles.all_ended(1))
    (run,) = [r for r in run.values() if r.ended]
    receiver.close()
    run_name = "Worker.run" if sys.version_info >= (3, 11) else "run"
    expected = [run_name, "outer", "middle", "leaf_spin"]
    by_thread = {}
    for s in run.samples:
        frames = run.frames_of(s["stack"])
        names = [f["function"] for f in frames]
        if names[-4:] != expected:
            continue            # elsewhere, or in done()
        by_thread.setdefault(run.threads[s["thread"]]["name"], []).append(s)
        leaf = frames[-1]
        assert leaf["file"] == __file__, leaf
        line = run.stacks[s["stack"]]["line"]
        assert leaf["first_line"] < line <= leaf["first_line"] + 3, (leaf, line)
    assert len(by_thread.get("MainThread", ())) > 30, by_thread.keys()
    assert len(by_thread.get("helper", ())) > 10, by_thread.keys()
    main = by_thread["MainThread"]
    # it shares the GIL with the helper for a while: on CPU a third or more
    assert sum(s["flags"] & 1 for s in main) > len(main) // 3
    blobs = profiles.allocated_types(run, "allocate_blobs")
    assert blobs and blobs[0][0] == "bytes", blobs
    assert len(kept) == 100
    # 3.13 learns types from creation events; every version can look
    if sys.version_info >= (3, 13):
        assert counters["types_created"] > 0, counters
    return "(sampled %d stacks; types %d created, %d looked up)" % (
        len(run.stacks), counters["types_created"], counters["types_looked"])


if __name__ == "__main__":
    main()
