"""The @profiler decorator, as in dolon 0.2.0, with the work done in C.

Every decorated function (sync or async, plain or method) joins the tracer
by itself as three metrics named after its ``__qualname__`` with ``.``
replaced by ``_``: ``<name>_hits`` (calls so far), ``<name>_active_instances``
(calls running now) and ``<name>_average_time`` (mean seconds per completed
call).  A call that raises still counts, and the exception propagates
unchanged.

A call that runs in steps -- of a coroutine function, a generator function
or an async generator function -- counts from its first step (when it is
first awaited or iterated) to its end (it returns, raises, is exhausted,
closed or dropped), and its time is the wall-clock time in between: for a
generator, the whole iteration, including what its consumer does between
two items.

inspect and asyncio see a decorated callable as what it wraps on every
supported Python: ``inspect.iscoroutinefunction``,
``asyncio.iscoroutinefunction``, ``inspect.isgeneratorfunction``,
``inspect.isasyncgenfunction`` and ``inspect.signature`` answer as for the
undecorated function, so frameworks that choose between awaiting and
running in a thread by them (FastAPI, Starlette) choose right.
"""
import asyncio
import functools
import inspect

from dolon import _core

__all__ = ["profiler", "clear", "get_profiling_functions"]


def _kind(foo):
    """What foo is, as the C wrapper needs to know to time its calls."""
    if inspect.isasyncgenfunction(foo):
        return _core.KIND_ASYNC_GENERATOR
    # asyncio's also knows 3.8-3.10's @asyncio.coroutine generators
    if inspect.iscoroutinefunction(foo) or asyncio.iscoroutinefunction(foo):
        return _core.KIND_COROUTINE
    if inspect.isgeneratorfunction(foo):
        return _core.KIND_GENERATOR
    return _core.KIND_FUNCTION


def _mark_coroutine_function(wrapper):
    """The markers inspect (3.12+) and asyncio (3.8 to 3.11) look for, for
    a wrapped callable that is no function (a functools.partial ...): the
    wrapper of a function is already seen through its __code__."""
    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:                      # Python 3.12+
        mark(wrapper)
    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:                    # Python 3.8 to 3.11
        wrapper._is_coroutine = marker


def profiler(foo):
    """Decorate a callable, making it profile-able.

    :param callable foo: a function, coroutine function, generator function
        or async generator function (or a method, staticmethod or
        classmethod of one, or any callable).
    """
    if isinstance(foo, (staticmethod, classmethod)):
        # decorated above @staticmethod / @classmethod: wrap what they hold
        return type(foo)(profiler(foo.__func__))
    kind = _kind(foo)
    wrapper = _core.profile(foo, kind)
    functools.update_wrapper(wrapper, foo)
    if kind == _core.KIND_COROUTINE:
        _mark_coroutine_function(wrapper)
    return wrapper


def clear():
    """Reset every statistic.

    Decorated functions keep working: their next call registers them again,
    starting from zero (dolon 0.2.0 raised KeyError instead).
    """
    _core.clear()


def stats():
    """The statistics of every registered name (hits, active_instances,
    average_time, name)."""
    return _core.profile_stats()


def get_profiling_functions(use_async=False):
    """Return one zero-argument function per metric, as dolon 0.2.0 did.

    :param bool use_async: If true the returned functions are coroutine
        functions.
    """
    functions = []
    for s in _core.profile_stats():
        for tag, attr in (("hits", "hits"),
                          ("active_instances", "active_instances"),
                          ("average_time", "average_time")):
            functions.append(_make_reader(s, tag, attr, use_async))
    return functions


def _make_reader(stats, tag, attr, use_async):
    if use_async:
        async def reader():
            return getattr(stats, attr)
    else:
        def reader():
            return getattr(stats, attr)
    reader.__name__ = reader.__qualname__ = "%s_%s" % (stats.name, tag)
    return reader
