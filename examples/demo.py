"""A small asyncio program traced with dolon, to fill a fresh mnemic with data.

scripts/run.sh starts it in the background (MNEMIC_DEMO=0 to skip); it stops
by itself after --seconds (default 600).  Run it by hand with:

    PYTHONPATH=dolon /usr/bin/python3 examples/demo.py --seconds 60
"""
import argparse
import asyncio
import math
import random
import time
import tracemalloc

from dolon import profiler, trace_client


@profiler.profiler
async def handle_request(size):
    # A request that allocates and waits, in waves, so the charts move.
    buf = [0] * size
    await asyncio.sleep(random.uniform(0.001, 0.02))
    return len(buf)


@profiler.profiler
def crunch(n):
    return sum(math.sqrt(i) for i in range(n))


async def traffic(stop_at):
    tasks = set()
    while time.monotonic() < stop_at:
        wave = 1 + math.sin(time.monotonic() / 20)
        for _ in range(int(5 + 20 * wave)):
            t = asyncio.ensure_future(handle_request(int(10000 * wave) + 1))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        crunch(int(2000 + 8000 * wave))
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)


async def main(args):
    tracemalloc.start()
    tracer = asyncio.ensure_future(trace_client.start_tracer(
        args.tracer, args.frequency, args.host, args.port,
        trace_client.mem_allocation, trace_client.active_tasks,
        trace_client.cpu_percent, trace_client.process_cpu_percent,
        trace_client.memory_use, trace_client.event_loop_lag_ms,
        stack_hz=args.stack_hz, allocations=args.allocations or None))
    await traffic(time.monotonic() + args.seconds)
    tracer.cancel()
    try:
        await tracer
    except asyncio.CancelledError:
        pass


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tracer", default="demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=12013)
    p.add_argument("--frequency", type=float, default=0.5)
    p.add_argument("--seconds", type=float, default=600)
    # so that the profile view below the charts has something to show
    p.add_argument("--stack-hz", type=float, default=100)
    p.add_argument("--allocations", type=int, default=512 * 1024,
                   help="mean bytes between sampled allocations (0: none)")
    asyncio.run(main(p.parse_args()))
