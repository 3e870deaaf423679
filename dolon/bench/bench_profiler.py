"""Added cost of @profiler per call, sync and async, against the same
function undecorated, measured in the same run; and against a pure-Python
reimplementation of dolon 0.2.0's decorator (the figure we replace)."""
import asyncio
import contextlib
import datetime
import functools
import inspect
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dolon import profiler  # noqa: E402

N = 200_000
ROUNDS = 7


class _Stats020:
    """What dolon 0.2.0 kept per function (rewritten here for the bench)."""

    def __init__(self):
        self.hits = self.running = self.completed = 0
        self.average = 0.0
        self.entered = {}


_STATS_020 = {}


@contextlib.contextmanager
def _collect_020(name):
    key = uuid.uuid4()
    s = _STATS_020[name]
    s.hits += 1
    s.running += 1
    s.entered[key] = datetime.datetime.now()
    try:
        yield
    finally:
        s.running -= 1
        spent = (datetime.datetime.now() - s.entered.pop(key)).total_seconds()
        s.average = (s.average * s.completed + spent) / (s.completed + 1)
        s.completed += 1


def profiler_020(func):
    """A pure-Python decorator behaving like dolon 0.2.0's."""
    _STATS_020[func.__qualname__] = _Stats020()
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def inner(*args, **kwargs):
            with _collect_020(func.__qualname__):
                return await func(*args, **kwargs)
    else:
        @functools.wraps(func)
        def inner(*args, **kwargs):
            with _collect_020(func.__qualname__):
                return func(*args, **kwargs)
    return inner


def plain(x):
    return x


c_wrapped = profiler.profiler(plain)
py_wrapped = profiler_020(plain)


async def aplain(x):
    return x


ac_wrapped = profiler.profiler(aplain)
apy_wrapped = profiler_020(aplain)

ITEMS = 10


def gen_plain(x):
    for i in range(ITEMS):
        yield i


async def agen_plain(x):
    for i in range(ITEMS):
        yield i


gen_wrapped = profiler.profiler(gen_plain)
agen_wrapped = profiler.profiler(agen_plain)


def sync_round(fn, n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        fn(i)
    return (time.perf_counter_ns() - t0) / n


def async_round(fn, n):
    async def loop():
        t0 = time.perf_counter_ns()
        for i in range(n):
            await fn(i)
        return (time.perf_counter_ns() - t0) / n
    return asyncio.run(loop())


def generator_round(fn, n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        for _ in fn(i):
            pass
    return (time.perf_counter_ns() - t0) / n


def async_generator_round(fn, n):
    async def loop():
        t0 = time.perf_counter_ns()
        for i in range(n):
            async for _ in fn(i):
                pass
        return (time.perf_counter_ns() - t0) / n
    return asyncio.run(loop())


def best_interleaved(one_round, cases):
    """Best ns/call of each (fn, n), rounds interleaved so that a change of
    load on a shared machine hits every case alike."""
    best = [float("inf")] * len(cases)
    for _ in range(ROUNDS):
        for k, (fn, n) in enumerate(cases):
            best[k] = min(best[k], one_round(fn, n))
    return best


def report(kind, base, ours, old):
    print("  %-5s undecorated %7.1f ns/call | dolon C: +%6.1f ns "
          "(x%.2f of the call) | 0.2.0-style Python: +%7.1f ns | "
          "C adds %.1f%% of 0.2.0's overhead"
          % (kind, base, ours - base, ours / base, old - base,
             100.0 * (ours - base) / (old - base)))


def main():
    print("@profiler added cost per call (Python %s, best of %d rounds)"
          % (sys.version.split()[0], ROUNDS))
    base, ours, old = best_interleaved(
        sync_round, [(plain, N), (c_wrapped, N), (py_wrapped, N // 10)])
    report("sync", base, ours, old)
    base, ours, old = best_interleaved(
        async_round, [(aplain, N), (ac_wrapped, N), (apy_wrapped, N // 10)])
    report("async", base, ours, old)
    for kind, one_round, plain_fn, wrapped in (
            ("generator", generator_round, gen_plain, gen_wrapped),
            ("async generator", async_generator_round, agen_plain,
             agen_wrapped)):
        base, ours = best_interleaved(
            one_round, [(plain_fn, N // ITEMS), (wrapped, N // ITEMS)])
        print("  %-5s of %d items: undecorated %7.1f ns/call | dolon C: "
              "+%6.1f ns per call, +%5.1f ns per item"
              % (kind, ITEMS, base, ours - base, (ours - base) / ITEMS))
    print("  target: <= 100 ns added per call on Python 3.11")


if __name__ == "__main__":
    main()
