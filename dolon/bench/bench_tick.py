"""Cost of one tracer tick with every built-in, in the same run as a
0.2.0-style tick (await each profiler coroutine, psutil, json, sendto)."""
import asyncio
import json
import os
import socket
import sys
import time
import uuid
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dolon import profiler, run, trace_client  # noqa: E402

TICKS = 3000
ROUNDS = 5
ALL_BUILTINS = (
    trace_client.mem_allocation, trace_client.active_tasks,
    trace_client.cpu_percent, trace_client.virtual_memory_percent,
    trace_client.memory_use, trace_client.process_cpu_percent,
    trace_client.event_loop_lag_ms, trace_client.thread_count,
    trace_client.open_fds, trace_client.gc_collections)


def sink():
    """A bound socket nobody reads: sends go to the kernel and stop there."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


async def dolon_tick_us(port, protocol):
    trace = run.TraceRun("bench", 1.0, "127.0.0.1", port, ALL_BUILTINS,
                         protocol=protocol, loop=asyncio.get_running_loop())
    for _ in range(10):
        await trace.tick_async()
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter_ns()
        for _ in range(TICKS):
            await trace.tick_async()
        best = min(best, (time.perf_counter_ns() - t0) / TICKS / 1000)
    counters = trace.sender.counters
    trace.end()
    return best, len(trace.names), counters


async def old_style_tick_us(port):
    import psutil
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    run_id = str(uuid.uuid4())

    async def cpu():
        return psutil.cpu_percent()

    async def vmem():
        return psutil.virtual_memory().percent

    async def mem():
        return psutil.Process(os.getpid()).memory_info()[0] / 2. ** 30

    async def tasks():
        return len([t for t in asyncio.all_tasks() if not t.done()])

    diagnostics = [cpu, vmem, mem, tasks]
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter_ns()
        for _ in range(TICKS // 10):
            msg = {"msg_type": "row",
                   "row_data": [await d() for d in diagnostics],
                   "uuid": run_id}
            sock.sendto(json.dumps(msg).encode(), ("127.0.0.1", port))
        best = min(best, (time.perf_counter_ns() - t0) / (TICKS // 10) / 1000)
    sock.close()
    return best


def main():
    warnings.simplefilter("ignore")     # mem_allocation without tracemalloc
    for i in range(5):                  # some @profiler metrics as well
        def f():
            return None
        f.__qualname__ = "bench_fn_%d" % i
        profiler.profiler(f)()
    s = sink()
    port = s.getsockname()[1]
    v1, n, counters = asyncio.run(dolon_tick_us(port, "v1"))
    js, _, _ = asyncio.run(dolon_tick_us(port, "json"))
    old = asyncio.run(old_style_tick_us(port))
    s.close()
    print("tracer tick cost (%d metrics: every built-in, tracer_cost_us, "
          "5 @profiler functions; "
          "best of %d x %d ticks)" % (n, ROUNDS, TICKS))
    print("  dolon v1:   %6.1f us/tick  (%d ticks in %d datagrams)"
          % (v1, counters["ticks"], counters["datagrams"]))
    print("  dolon json: %6.1f us/tick" % js)
    print("  0.2.0-style tick, 4 built-ins via psutil + json: %6.1f us/tick "
          "(dolon v1 = %.2f of it)" % (old, v1 / old))
    print("  target: <= 50 us per tick")


if __name__ == "__main__":
    main()
