"""The trace client, as in dolon 0.2.0: start_tracer and profiler functions.

    asyncio.ensure_future(trace_client.start_tracer(
        "my-app", 1, "127.0.0.1", 12013,
        trace_client.mem_allocation, trace_client.active_tasks))

Every @profiler-decorated function joins the tracer by itself.  The tracer
never harms the program: a profiler function that raises leaves its value
out (one warning), sending ignores an absent backend, a bad DOLON_*
variable leaves the program untraced (one warning) and a host name that
does not resolve is looked up again until it does (one warning).  Only a
bad argument raises, as the mistake of the calling code.
"""
import asyncio
import socket
import uuid

from dolon import config, profiling, run
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
                       allocations=None, key=None):
    """Trace until cancelled: every `frequency` seconds measure one tick.

    :param str tracer_name: names the traced program (0.2.0's app_name).
    :param float frequency: seconds between ticks.
    :param str host: where pg_mnemic listens (None: $DOLON_HOST, else
        127.0.0.1); a list "db1,db2:12014" sends the run to one of them,
        chosen from its uuid (dolon.config).
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
    :param str key: "ID:HEX" (None: $DOLON_KEY, else unsigned): sign every
        datagram with this key of mnemic.ingest_key (binary v1 only).

    When cancelled it sends the end of the run, then re-raises.
    """
    if profilers and isinstance(profilers[0], bool):
        verbose, profilers = profilers[0] or verbose, profilers[1:]
    run.check_arguments(tracer_name, frequency, profilers)
    profiling.check_arguments(stack_hz, allocations)
    key = config.key_argument(key, protocol)
    settings = config.resolve(host, port, protocol)
    if settings is None:                # a bad DOLON_* variable: warned
        return
    host, port, protocol = settings
    key = config.resolve_key(key, protocol)
    if key is config.UNTRACED:          # a bad DOLON_KEY: warned
        return
    run_uuid = uuid.uuid4()
    host, port = config.host_for_run(host, port, run_uuid)
    loop = asyncio.get_running_loop()
    address = await _address(loop, tracer_name, host, port)
    try:
        trace = run.TraceRun(tracer_name, frequency, address, port,
                             profilers, protocol=protocol, verbose=verbose,
                             loop=loop, run_uuid=run_uuid, stack_hz=stack_hz,
                             allocations=allocations, key=key)
    except OSError as exc:              # no sockets left ...
        config.warn_once("tracer %r not started: %s" % (tracer_name, exc))
        return
    try:
        await _tick_forever(trace, loop)
    finally:
        trace.end()


async def _address(loop, tracer_name, host, port):
    """host's numeric address, looked up in the loop's executor (a name
    server never blocks the loop), again and again until it resolves."""
    while True:
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            return infos[0][4][0]
        except OSError as exc:          # unknown host, no name server ...
            run.host_unresolved(tracer_name, host, exc)
        await asyncio.sleep(config.RESOLVE_RETRY_S)


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
