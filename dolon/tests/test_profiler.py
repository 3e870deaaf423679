"""@dolon.profiler.profiler: counts, timing, methods, async, exceptions,
recursion, clear(), threads -- all against what actually happened."""
import asyncio
import contextlib
import functools
import gc
import inspect
import pickle
import threading
import time
import weakref

import pytest

import identity_cases
from dolon import _core, profiler


def stats_by_name():
    return {s.name: s for s in profiler.stats()}


@profiler.profiler
def module_level(x, *, y=0):
    """docstring kept"""
    return x + y


def test_sync_call_counts_and_returns():
    for i in range(5):
        assert module_level(i, y=1) == i + 1
    s = module_level.stats
    assert (s.hits, s.active_instances, s.completed) == (5, 0, 5)
    assert s.name == "module_level"
    assert s.average_time >= 0


def test_wrapper_looks_like_the_function():
    assert module_level.__name__ == "module_level"
    assert module_level.__doc__ == "docstring kept"
    assert module_level.__wrapped__.__name__ == "module_level"
    assert module_level.__module__ == __name__
    assert inspect.signature(module_level) == inspect.signature(
        module_level.__wrapped__)
    assert pickle.loads(pickle.dumps(module_level)) is module_level
    assert weakref.ref(module_level)() is module_level


def test_average_time_measures_the_call():
    @profiler.profiler
    def sleepy():
        time.sleep(0.05)

    sleepy()
    sleepy()
    avg = sleepy.stats.average_time
    assert 0.045 <= avg < 0.5, avg


CLOCK_PROGRAM = """
import json, sys, time
from dolon import _core, profiler

@profiler.profiler
def sleepy(s):
    time.sleep(s)

@profiler.profiler
async def napping(s):
    import asyncio
    await asyncio.sleep(s)

out = {"clock": _core.CALL_CLOCK}
for s in (0.002, 0.03):
    t0 = time.perf_counter()
    sleepy(s)
    out["sync %s" % s] = [s, sleepy.stats.average_time, time.perf_counter() - t0]
    profiler.clear()
import asyncio
t0 = time.perf_counter()
asyncio.run(napping(0.03))
out["async"] = [0.03, napping.stats.average_time, time.perf_counter() - t0]
print(json.dumps(out))
"""


@pytest.mark.parametrize("asked", [None, "monotonic"])
def test_both_call_clocks_time_calls_in_seconds(asked):
    """The time-stamp counter where the kernel keeps time by it, else (or
    when asked) the monotonic clock: either way a duration is at least what
    the call slept and at most what the caller measured around it."""
    import json
    import os
    import subprocess
    import sys
    from conftest import DOLON_ROOT
    env = dict(os.environ, PYTHONPATH=DOLON_ROOT)
    env.pop("DOLON_CALL_CLOCK", None)
    if asked:
        env["DOLON_CALL_CLOCK"] = asked
    done = subprocess.run([sys.executable, "-c", CLOCK_PROGRAM], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    try:
        with open("/sys/devices/system/clocksource/clocksource0/"
                  "current_clocksource") as f:
            kernel = f.read().strip()
    except OSError:
        kernel = None                   # not told: the portable clock
    import platform
    tsc = kernel == "tsc" and platform.machine() == "x86_64" and not asked
    assert out.pop("clock") == ("tsc" if tsc else "monotonic")
    for what, (slept, measured, around) in out.items():
        assert slept <= measured <= around, (what, slept, measured, around)


def test_nested_qualname_is_the_metric_prefix():
    class Outer:
        class Inner:
            @profiler.profiler
            def method(self):
                return self

    obj = Outer.Inner()
    assert obj.method() is obj
    name = Outer.Inner.method.stats.name
    assert name == Outer.Inner.method.__qualname__.replace(".", "_")
    assert "." not in name and name.endswith("Outer_Inner_method")


def test_methods_static_and_class_methods_bind():
    class Thing:
        def __init__(self, v):
            self.v = v

        @profiler.profiler
        def get(self, plus=0):
            return self.v + plus

        @classmethod
        @profiler.profiler
        def make(cls, v):
            return cls(v)

        @staticmethod
        @profiler.profiler
        def twice(v):
            return 2 * v

    t = Thing(3)
    assert t.get() == 3 and t.get(plus=2) == 5
    assert Thing.get(t, 1) == 4
    bound = t.get
    assert bound() == 3
    assert Thing.make(4).v == 4
    assert Thing.twice(5) == 10 and t.twice(1) == 2
    assert Thing.get.stats.hits == 4
    assert Thing.twice.stats.hits == 2


def test_exception_propagates_unchanged_and_counts():
    class Boom(Exception):
        pass

    err = Boom("x")

    @profiler.profiler
    def fails():
        raise err

    with pytest.raises(Boom) as info:
        fails()
    assert info.value is err
    # the traceback still reaches the function's own frame
    assert info.traceback[-1].name == "fails"
    s = fails.stats
    assert (s.hits, s.active_instances, s.completed) == (1, 0, 1)


def test_wrong_arguments_raise_typeerror_and_count():
    with pytest.raises(TypeError):
        module_level()
    assert module_level.stats.hits == 1
    assert module_level.stats.active_instances == 0


def test_recursion_counts_every_level_and_active_depth():
    depth_seen = []

    @profiler.profiler
    def fact(n):
        depth_seen.append(fact.stats.active_instances)
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(6) == 720
    assert fact.stats.hits == 6
    assert depth_seen == [1, 2, 3, 4, 5, 6]
    assert fact.stats.active_instances == 0


def test_async_function_timing_covers_the_await():
    @profiler.profiler
    async def slow(x):
        await asyncio.sleep(0.05)
        return x * 2

    assert inspect.iscoroutinefunction(slow)
    assert asyncio.iscoroutinefunction(slow)

    async def main():
        coro = slow(21)
        # not counted until it runs (as 0.2.0's `async def` wrapper)
        assert slow.stats.hits == 0
        task = asyncio.ensure_future(coro)
        await asyncio.sleep(0.01)
        assert slow.stats.active_instances == 1
        return await task

    assert asyncio.run(main()) == 42
    s = slow.stats
    assert (s.hits, s.active_instances, s.completed) == (1, 0, 1)
    assert 0.045 <= s.average_time < 0.5


def test_async_concurrent_active_instances():
    @profiler.profiler
    async def job(release):
        await release.wait()

    async def main():
        release = asyncio.Event()
        tasks = [asyncio.ensure_future(job(release)) for _ in range(7)]
        await asyncio.sleep(0.01)
        active = job.stats.active_instances
        release.set()
        await asyncio.gather(*tasks)
        return active

    assert asyncio.run(main()) == 7
    assert job.stats.active_instances == 0
    assert job.stats.hits == 7


def test_async_exception_and_cancellation():
    class Boom(Exception):
        pass

    @profiler.profiler
    async def fails():
        await asyncio.sleep(0)
        raise Boom()

    @profiler.profiler
    async def forever():
        await asyncio.sleep(3600)

    async def main():
        with pytest.raises(Boom):
            await fails()
        task = asyncio.ensure_future(forever())
        await asyncio.sleep(0.01)
        assert forever.stats.active_instances == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert (fails.stats.hits, fails.stats.active_instances) == (1, 0)
    assert (forever.stats.hits, forever.stats.active_instances) == (1, 0)


def test_async_method_and_return_value_through_gather():
    class Api:
        @profiler.profiler
        async def get(self, k):
            await asyncio.sleep(0)
            return {"k": k}

    async def main():
        api = Api()
        return await asyncio.gather(*(api.get(i) for i in range(4)))

    assert asyncio.run(main()) == [{"k": i} for i in range(4)]
    assert Api.get.stats.hits == 4


def test_coroutine_protocol_send_throw_close():
    @profiler.profiler
    async def two_steps():
        await asyncio.sleep(0)
        return "done"

    coro = two_steps()
    assert coro.send(None) is None          # asyncio.sleep(0) yields None
    with pytest.raises(StopIteration) as info:
        coro.send(None)
    assert info.value.value == "done"

    coro = two_steps()
    coro.send(None)
    with pytest.raises(KeyError):
        coro.throw(KeyError("k"))

    coro = two_steps()
    coro.send(None)
    coro.close()
    s = two_steps.stats
    assert (s.hits, s.active_instances, s.completed) == (3, 0, 3)


def test_abandoned_coroutine_does_not_stay_active():
    @profiler.profiler
    async def step():
        await asyncio.sleep(0)

    coro = step()
    coro.send(None)
    assert step.stats.active_instances == 1
    del coro
    gc.collect()
    assert step.stats.active_instances == 0


def test_clear_resets_and_functions_keep_working():
    @profiler.profiler
    def f():
        return 1

    f()
    f()
    assert "f" in {s.qualname.rsplit(".", 1)[-1] for s in profiler.stats()}
    profiler.clear()
    assert profiler.stats() == []
    assert f.stats.hits == 0
    assert f() == 1                 # 0.2.0 raised KeyError here
    assert f.stats.hits == 1
    assert f.stats in profiler.stats()


def test_clear_during_a_call_does_not_go_negative():
    @profiler.profiler
    def clears():
        profiler.clear()

    clears()
    s = clears.stats
    assert s.active_instances == 0 and s.hits == 0
    clears()
    assert clears.stats.active_instances == 0


def test_same_qualname_shares_statistics():
    def make():
        @profiler.profiler
        def closure():
            return 1
        return closure

    a, b = make(), make()
    a()
    b()
    b()
    assert a.stats is b.stats and a.stats.hits == 3
    names = [s.name for s in profiler.stats()]
    assert names.count(a.stats.name) == 1


def test_threads_counts_exact():
    @profiler.profiler
    def tiny(i):
        return i

    @profiler.profiler
    def releases_gil():
        time.sleep(0)

    n_threads, per_thread = 8, 20000
    barrier = threading.Barrier(n_threads)

    def worker():
        barrier.wait()
        for i in range(per_thread):
            tiny(i)
            if i % 100 == 0:
                releases_gil()

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tiny.stats.hits == n_threads * per_thread
    assert tiny.stats.completed == n_threads * per_thread
    assert tiny.stats.active_instances == 0
    assert releases_gil.stats.hits == n_threads * per_thread // 100
    assert releases_gil.stats.active_instances == 0


def test_get_profiling_functions_is_0_2_0_compatible():
    @profiler.profiler
    def g():
        pass

    g()
    funcs = profiler.get_profiling_functions()
    names = [f.__name__ for f in funcs]
    prefix = g.stats.name
    assert names == [prefix + "_hits", prefix + "_active_instances",
                     prefix + "_average_time"]
    assert funcs[0]() == 1
    afuncs = profiler.get_profiling_functions(True)
    assert asyncio.run(afuncs[0]()) == 1


def test_not_callable_is_refused():
    with pytest.raises(TypeError, match="callable"):
        profiler.profiler(42)


def test_wrapper_is_collected():
    @profiler.profiler
    def temp():
        pass

    ref = weakref.ref(temp)
    del temp
    gc.collect()
    assert ref() is None


def test_functools_partial_and_callable_objects():
    class Callable:
        def __call__(self, x):
            return x

    wrapped = profiler.profiler(Callable())
    assert wrapped(3) == 3
    p = profiler.profiler(functools.partial(pow, 2))
    assert p(5) == 32
    assert _core.ProfiledFunction is type(p)


# -- seen as what it wraps -------------------------------------------------

def test_inspect_and_asyncio_see_what_is_wrapped_in_every_form():
    # functions, coroutine, generator and async generator functions; as
    # functions, methods, staticmethods and classmethods (decorated inside
    # and outside); by inspect, asyncio, and the way Starlette and FastAPI
    # decide whether to await.  compat_smoke.py runs the same on 3.8-3.13.
    assert identity_cases.check_decorated_look_like_undecorated() == 252
    identity_cases.check_decorated_calls_work()


def test_function_attributes_are_the_wrapped_functions():
    def f(a, b=2, *, c=3):
        return a

    w = profiler.profiler(f)
    assert w.__code__ is f.__code__
    assert (w.__defaults__, w.__kwdefaults__) == ((2,), {"c": 3})
    assert w.__globals__ is f.__globals__ and w.__closure__ is None
    assert w.__class__ is type(f) and type(w) is _core.ProfiledFunction
    assert inspect.signature(w, follow_wrapped=False) == inspect.signature(f)
    # a partial looks like the partial it wraps, not like a function
    part = functools.partial(f, 1, c=4)
    p = profiler.profiler(part)
    assert p.__class__ is functools.partial and type(p) is _core.ProfiledFunction
    assert (p.func, p.args, p.keywords) == (f, (1,), {"c": 4})
    with pytest.raises(AttributeError):
        p.__code__
    # ... and a partial of it still calls it, counted
    assert functools.partial(p, b=0)() == 1 and p.stats.hits == 1
    # it counts as the function it calls (not as one "partial" for all)
    assert p.stats is profiler.profiler(f).stats
    part_of_part = profiler.profiler(functools.partial(part, 2))
    assert part_of_part.stats is p.stats and part_of_part() == 1
    # a callable object is not made to look like anything else
    class Callable:
        def __call__(self, x):
            return x

    c = profiler.profiler(Callable())
    assert c.__class__ is _core.ProfiledFunction
    with pytest.raises(AttributeError):
        c.func


def test_partial_of_a_coroutine_function_is_awaited():
    async def add(a, b):
        await asyncio.sleep(0)
        return a + b

    w = profiler.profiler(functools.partial(add, 1))
    assert w.kind == _core.KIND_COROUTINE
    assert asyncio.iscoroutinefunction(w) and inspect.iscoroutinefunction(w)
    assert identity_cases.starlette_is_async(w)
    assert asyncio.run(w(2)) == 3 and w.stats.hits == 1


# -- generators: the whole iteration is the call ---------------------------

def test_generator_is_timed_over_the_whole_iteration():
    @profiler.profiler
    def numbers(n):
        for i in range(n):
            yield i
        return "done"

    gen = numbers(3)
    assert numbers.stats.hits == 0            # not started: not counted
    started = time.perf_counter()
    assert next(gen) == 0
    assert (numbers.stats.hits, numbers.stats.active_instances) == (1, 1)
    time.sleep(0.05)                          # the consumer's time counts
    assert list(gen) == [1, 2]
    elapsed = time.perf_counter() - started
    s = numbers.stats
    assert (s.hits, s.active_instances, s.completed) == (1, 0, 1)
    # at least the consumer's 50 ms, at most the whole iteration
    assert 0.045 <= s.average_time <= elapsed

    # a return value, send, and yield from reach through the wrapper
    def outer():
        result = yield from numbers(2)
        return result
    with pytest.raises(StopIteration) as info:
        g = outer()
        while True:
            g.send(None)
    assert info.value.value == "done"
    assert numbers.stats.hits == 2


def test_generator_close_throw_and_abandon_end_the_call():
    @profiler.profiler
    def forever():
        i = 0
        while True:
            try:
                yield i
            except KeyError:
                i = -1
            i += 1

    g = forever()
    next(g)
    assert g.throw(KeyError) == 0             # caught: the call goes on
    assert forever.stats.active_instances == 1
    with pytest.raises(ValueError):
        g.throw(ValueError)                   # escaped: the call ended
    g = forever()
    next(g)
    g.close()
    g = forever()
    next(g)
    del g
    gc.collect()
    s = forever.stats
    assert (s.hits, s.active_instances, s.completed) == (3, 0, 3)


def test_decorated_generator_works_under_contextmanager():
    entered = []

    @contextlib.contextmanager
    @profiler.profiler
    def opened(name):
        entered.append(name)
        yield name.upper()
        entered.append("exit")

    with opened("a") as value:
        assert value == "A"
    with pytest.raises(KeyError):
        with opened("b"):
            raise KeyError("b")
    assert entered == ["a", "exit", "b"]
    s = opened.__wrapped__.stats
    assert (s.hits, s.active_instances, s.completed) == (2, 0, 2)


def test_async_generator_is_timed_over_the_whole_iteration():
    @profiler.profiler
    async def ticks(n):
        for i in range(n):
            await asyncio.sleep(0.01)
            yield i

    async def main():
        agen = ticks(3)
        assert ticks.stats.hits == 0
        assert await agen.__anext__() == 0
        assert ticks.stats.active_instances == 1
        rest = [i async for i in agen]
        return rest

    assert asyncio.run(main()) == [1, 2]
    s = ticks.stats
    assert (s.hits, s.active_instances, s.completed) == (1, 0, 1)
    assert 0.025 <= s.average_time < 0.5


def test_async_generator_asend_athrow_aclose_and_cancel():
    @profiler.profiler
    async def echo():
        received = None
        while True:
            try:
                received = yield received
            except KeyError:
                received = "caught"
            await asyncio.sleep(0)

    @profiler.profiler
    async def slow():
        yield 1
        await asyncio.sleep(3600)
        yield 2

    async def main():
        agen = echo()
        assert await agen.asend(None) is None
        assert await agen.asend("x") == "x"
        assert await agen.athrow(KeyError) == "caught"   # goes on
        assert echo.stats.active_instances == 1
        await agen.aclose()
        assert echo.stats.active_instances == 0
        with pytest.raises(StopAsyncIteration):
            await agen.__anext__()

        agen = slow()
        assert await agen.__anext__() == 1
        task = asyncio.ensure_future(agen.__anext__())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert slow.stats.active_instances == 0

        async with contextlib.AsyncExitStack() as stack:
            @contextlib.asynccontextmanager
            @profiler.profiler
            async def resource():
                yield "r"
            assert await stack.enter_async_context(resource()) == "r"

    asyncio.run(main())
    assert (echo.stats.hits, echo.stats.completed) == (1, 1)
    assert (slow.stats.hits, slow.stats.completed) == (1, 1)


def test_abandoned_async_generator_does_not_stay_active():
    @profiler.profiler
    async def items():
        yield 1
        yield 2

    async def main():
        agen = items()
        assert await agen.__anext__() == 1
        assert items.stats.active_instances == 1
        del agen
        gc.collect()

    asyncio.run(main())
    assert (items.stats.active_instances, items.stats.completed) == (0, 1)
