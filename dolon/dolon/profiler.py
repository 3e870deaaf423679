"""The @profiler decorator, as in dolon 0.2.0, with the work done in C.

Every decorated function (sync or async, plain or method) joins the tracer
by itself as three metrics named after its ``__qualname__`` with ``.``
replaced by ``_``: ``<name>_hits`` (calls so far), ``<name>_active_instances``
(calls running now) and ``<name>_average_time`` (mean seconds per completed
call).  A call that raises still counts, and the exception propagates
unchanged.
"""
import asyncio
import functools
import inspect

from dolon import _core

__all__ = ["profiler", "clear", "get_profiling_functions"]


def _mark_coroutine_function(wrapper):
    """Make inspect/asyncio.iscoroutinefunction() true for the wrapper."""
    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:                      # Python 3.12+
        mark(wrapper)
    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:                    # Python 3.8 to 3.11
        wrapper._is_coroutine = marker


def profiler(foo):
    """Decorate a callable or coroutine function, making it profile-able.

    :param callable foo: The callable (sync or async) to profile.
    """
    is_async = inspect.iscoroutinefunction(foo)
    wrapper = _core.profile(foo, is_async)
    functools.update_wrapper(wrapper, foo)
    if is_async:
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
