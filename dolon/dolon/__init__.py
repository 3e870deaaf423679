"""dolon: trace and profile Python programs into mnemic.

A drop-in replacement for dolon 0.2.0 with a C core:

    import asyncio
    from dolon import profiler, trace_client

    @profiler.profiler
    async def handle(request): ...

    async def main():
        asyncio.ensure_future(trace_client.start_tracer(
            "my-app", 1, "127.0.0.1", 12013,
            trace_client.cpu_percent, trace_client.memory_use))
        ...

Programs without an event loop use ``dolon.Tracer`` (a background thread),
or run unchanged under ``python3 -m dolon --tracer NAME script.py``.
Stack and allocation sampling are opt-in: ``stack_hz=100``,
``allocations=True`` on either tracer, ``--stacks``/``--allocations`` on the
command line, or ``@dolon.sampling(hz=100)`` around one function.
"""
from dolon import profiler, trace_client
from dolon.profiling import sampling
from dolon.tracer import Tracer

# The one place the version is written: the package metadata takes it from
# here (pyproject.toml), and so does `python3 -m dolon --version`.
__version__ = "0.3.0"
__all__ = ["Tracer", "profiler", "sampling", "trace_client", "__version__"]
