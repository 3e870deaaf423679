"""The built-in profiler functions, and how the tracer reads them fast.

Each is a zero-argument coroutine function (dolon 0.2.0's API), usable by
hand or passed to start_tracer.  When the tracer sees one of them it does
not await it: the /proc ones are read in C within the tick (READ_IN_C), the
others by a plain function (READ_IN_PYTHON) -- same values, fewer steps.
"""
import asyncio
import tracemalloc
import warnings

from dolon import _core

_reader = None


def _read(code):
    """One built-in measurement, CPU % since the previous hand-made call."""
    global _reader
    if _reader is None:
        _reader = _core.BuiltinReader()
    return _reader.read(code)


async def mem_allocation():
    """MB of memory traced by tracemalloc (the program must have called
    tracemalloc.start(); otherwise a warning and no value)."""
    return traced_memory_mb()


async def active_tasks():
    """Number of asyncio tasks not done in the running loop."""
    return active_task_count()


async def cpu_percent():
    """System-wide CPU use in %, since the previous call (as psutil's)."""
    return _read(_core.CPU_PERCENT)


async def virtual_memory_percent():
    """System memory in use, % of the total (as psutil's)."""
    return _read(_core.VIRTUAL_MEMORY_PERCENT)


async def memory_use():
    """This process's resident memory in GiB (as dolon 0.2.0 reported it)."""
    return _read(_core.MEMORY_USE)


async def process_cpu_percent():
    """This process's CPU use in %, since the previous call (can pass 100
    with several busy threads)."""
    return _read(_core.PROCESS_CPU_PERCENT)


async def thread_count():
    """Threads of this process."""
    return _read(_core.THREAD_COUNT)


async def open_fds():
    """File descriptors this process has open."""
    return _read(_core.OPEN_FDS)


async def gc_collections():
    """Garbage-collector runs so far, all generations together."""
    return _read(_core.GC_COLLECTIONS)


async def event_loop_lag_ms():
    """How late the event loop runs a callback that is due now, in ms.

    Inside a tracer this is how late its own timer fired."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.sleep(0)
    return (loop.time() - start) * 1000.0


async def tracer_cost_us():
    """Inside a tracer: µs its previous tick took (its own cost)."""
    return float("nan")


_warned_tracemalloc = False


def traced_memory_mb():
    global _warned_tracemalloc
    if not tracemalloc.is_tracing():
        if not _warned_tracemalloc:
            _warned_tracemalloc = True
            warnings.warn(
                "dolon: mem_allocation has no value because tracemalloc is "
                "not tracing; call tracemalloc.start() at program start (it "
                "slows every allocation, so dolon does not start it itself)",
                RuntimeWarning, stacklevel=2)
        return None
    return tracemalloc.get_traced_memory()[0] / 10 ** 6


def active_task_count(loop=None):
    """asyncio.all_tasks() only returns tasks not done, on 3.7 to 3.13."""
    try:
        return len(asyncio.all_tasks(loop))
    except RuntimeError:            # no running loop
        return None


READ_IN_C = {
    cpu_percent: _core.CPU_PERCENT,
    virtual_memory_percent: _core.VIRTUAL_MEMORY_PERCENT,
    memory_use: _core.MEMORY_USE,
    process_cpu_percent: _core.PROCESS_CPU_PERCENT,
    thread_count: _core.THREAD_COUNT,
    open_fds: _core.OPEN_FDS,
    gc_collections: _core.GC_COLLECTIONS,
}

# name -> how a running tracer reads it: f(run) -> value
READ_IN_PYTHON = {
    mem_allocation: lambda run: traced_memory_mb(),
    active_tasks: lambda run: active_task_count(run.loop),
    event_loop_lag_ms: lambda run: run.loop_lag_ms,
    tracer_cost_us: lambda run: run.last_cost_us,
}

# What `python3 -m dolon` and a dolon.Tracer without profilers trace.
FOR_THREADS = (cpu_percent, virtual_memory_percent, memory_use,
               process_cpu_percent, thread_count, open_fds, gc_collections)
