"""The trace client, as in dolon 0.2.0: start_tracer and profiler functions.

    asyncio.ensure_future(trace_client.start_tracer(
        "my-app", 1, "127.0.0.1", 12013,
        trace_client.mem_allocation, trace_client.active_tasks))

Every @profiler-decorated function joins the tracer by itself.  The tracer
never harms the program: a profiler function that raises leaves its value
out (one warning), and sending ignores an absent backend.
"""
import asyncio
import socket
import warnings

from dolon import config, run
from dolon.builtin_metrics import (
    active_tasks, cpu_percent, event_loop_lag_ms, gc_collections,
    mem_allocation, memory_use, open_fds, process_cpu_percent, thread_count,
    tracer_cost_us, virtual_memory_percent)
from dolon.postgres import PostgresDiagnostics

__all__ = [
    "start_tracer", "PostgresDiagnostics", "mem_allocation", "active_tasks",
    "cpu_percent", "virtual_memory_percent", "memory_use",
    "process_cpu_percent", "event_loop_lag_ms", "thread_count", "open_fds",
    "gc_collections", "tracer_cost_us",
]


async def start_tracer(tracer_name, frequency, host, port, *profilers,
                       verbose=False, protocol=None, stack_hz=None,
                       allocations=None):
    """Trace until cancelled: every `frequency` seconds measure one tick.

    :param str tracer_name: names the traced program (0.2.0's app_name).
    :param float frequency: seconds between ticks.
    :param str host: where pg_mnemic listens (None: $DOLON_HOST, else
        127.0.0.1).
    :param int port: its UDP port (None: $DOLON_PORT, else 12013).
    :param profilers: zero-argument coroutine functions (plain functions
        too) returning a number; each one's __name__ names its metric.
        dolon 0.2.0's later form, with a bool `verbose` before them, works.
    :param bool verbose: print every tick.
    :param str protocol: "v1" (default; $DOLON_PROTOCOL) or "json", the
        legacy format of dolon 0.2.0 for old backends.
    :param float stack_hz: sample every thread's stack this many times a
        second (None: $DOLON_STACK_HZ, else off; at most 1,000).
    :param allocations: sample allocations too, one per this many bytes on
        average (True: 512 KiB; None: $DOLON_ALLOCATIONS, else off).

    When cancelled it sends the end of the run, then re-raises.
    """
    if profilers and isinstance(profilers[0], bool):
        verbose, profilers = profilers[0] or verbose, profilers[1:]
    loop = asyncio.get_running_loop()
    host, port, protocol = config.resolve(host, port, protocol)
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        trace = run.TraceRun(tracer_name, frequency, infos[0][4][0], port,
                             profilers, protocol=protocol, verbose=verbose,
                             loop=loop, stack_hz=stack_hz,
                             allocations=allocations)
    except OSError as exc:          # unknown host, no sockets left ...
        warnings.warn("dolon: tracer %r not started: %s" % (tracer_name, exc),
                      RuntimeWarning, stacklevel=2)
        return
    try:
        await _tick_forever(trace, loop)
    finally:
        trace.end()


async def _tick_forever(trace, loop):
    due = loop.time()
    while True:
        due += trace.frequency
        now = loop.time()
        if due < now:                       # ticks missed: do not catch up
            due = now
        await asyncio.sleep(due - now)
        trace.loop_lag_ms = max(0.0, loop.time() - due) * 1000.0
        try:
            await trace.tick_async()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:            # a bug of ours: warn, go on
            trace._warn_once("<tick>", "a tick failed: %r" % (exc,))
