"""Smoke test of the C core on other Python versions (no pytest needed).

Run by `make check-compat` with each interpreter found; exits non-zero on
the first failure.
"""
import asyncio
import socket
import sys
import threading

import identity_cases
from dolon import Tracer, profiler, trace_client


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
    receiver.settimeout(2)

    async def trace():
        task = asyncio.ensure_future(trace_client.start_tracer(
            "compat", 0.02, "127.0.0.1", receiver.getsockname()[1],
            trace_client.cpu_percent, trace_client.memory_use))
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(trace())
    first = receiver.recv(70000)
    assert first[:5] == b"MNEM\x01", first[:8]
    with Tracer("compat-thread", 0.02, "127.0.0.1",
                receiver.getsockname()[1]):
        pass
    profiler.clear()
    assert sync_fn(1) == 2 and sync_fn.stats.hits == 1
    compared = identity_cases.main()
    print("ok", sys.version.split()[0], "(%d inspect comparisons)" % compared)


if __name__ == "__main__":
    main()
