"""Stack and allocation sampling for a traced run: opt-in, off by default.

    dolon.Tracer("job", 1.0, stack_hz=100, allocations=True)
    trace_client.start_tracer(..., stack_hz=100, allocations=512 * 1024)
    python3 -m dolon --tracer job --stacks 100 --allocations script.py
    DOLON_STACK_HZ=100 DOLON_ALLOCATIONS=1 python3 app.py   # any tracer

    @dolon.sampling(hz=100)          # only while the function runs
    def handle(request): ...

    with dolon.sampling(hz=100):     # only inside the block
        work()

A C thread samples every thread's Python stack `stack_hz` times a second
(at most 1,000) and, with `allocations`, one allocation per that many bytes
on average (True: 512 KiB), with its type and its free.  The samples travel
with the run's ticks (docs/protocol.md, "Profiles"); the run gains one
metric, sampler_cpu_percent, the sampler's own CPU.  A sampler that fails
says so once and stops; the program goes on.  After os.fork() the child
becomes a run of its own.
"""
import atexit
import functools
import inspect
import os
import sys
import threading
import uuid
import weakref

from dolon import _core, config

DEFAULT_HZ = 100
MAX_HZ = 1000
DEFAULT_ALLOCATION_INTERVAL = 512 * 1024
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")

_runs = []                  # weak references to live runs, oldest first
_lock = threading.RLock()      # a scope may start a tracer, which registers


def checked_stack_hz(stack_hz, source="stack_hz"):
    """Samples a second (True: 100, False or 0: none); ValueError when it
    is no rate.  Beyond 1,000 it is capped, with one warning."""
    if stack_hz is True:
        return float(DEFAULT_HZ)
    if stack_hz is False:
        return 0.0
    try:
        hz = float(stack_hz)
    except (TypeError, ValueError):
        raise ValueError("dolon: %s must be a number of samples a second, "
                         "not %r" % (source, stack_hz)) from None
    if not 0 <= hz < float("inf"):
        raise ValueError("dolon: %s must be 0 to %d samples a second, not %r"
                         % (source, MAX_HZ, stack_hz))
    if hz > MAX_HZ:
        config.warn_once("%s %g is above the limit; sampling at %d Hz"
                         % (source, hz, MAX_HZ))
        hz = float(MAX_HZ)
    return hz


def checked_allocations(allocations, source="allocations"):
    """Mean bytes between sampled allocations (True: 512 KiB, False or 0:
    none); ValueError when it is neither."""
    if allocations is True:
        return DEFAULT_ALLOCATION_INTERVAL
    if allocations is False:
        return 0
    interval = None
    if isinstance(allocations, int):
        interval = allocations
    elif isinstance(allocations, float) and allocations.is_integer():
        interval = int(allocations)
    elif isinstance(allocations, str) and allocations.strip().isdigit():
        interval = int(allocations)
    if interval is None or interval < 0:
        raise ValueError("dolon: %s must be True or a mean number of bytes "
                         "between samples, not %r" % (source, allocations))
    return interval


def check_arguments(stack_hz=None, allocations=None):
    """Raise for a bad stack_hz or allocations, before anything starts."""
    if stack_hz is not None:
        checked_stack_hz(stack_hz)
    if allocations is not None:
        checked_allocations(allocations)


def stack_rate(stack_hz=None):
    """Samples a second from stack_hz, else $DOLON_STACK_HZ; 0 for none.
    A bad variable is the environment's: one warning, no sampling."""
    if stack_hz is not None:
        return checked_stack_hz(stack_hz)
    text = os.environ.get("DOLON_STACK_HZ", "").strip().lower()
    if text in _FALSE:
        return 0.0
    try:
        return checked_stack_hz(True if text in _TRUE[1:] else text,
                                "DOLON_STACK_HZ")
    except ValueError as exc:
        config.warn_once("%s; stacks are not sampled"
                         % str(exc)[len("dolon: "):])
        return 0.0


def allocation_interval(allocations=None):
    """Mean bytes between sampled allocations: allocations, else
    $DOLON_ALLOCATIONS ("1", "yes": 512 KiB, or a number of bytes); 0 for
    none.  A bad variable: one warning, no sampling."""
    if allocations is not None:
        return checked_allocations(allocations)
    text = os.environ.get("DOLON_ALLOCATIONS", "").strip().lower()
    if text in _FALSE:
        return 0
    try:
        return checked_allocations(True if text in _TRUE else text,
                                   "DOLON_ALLOCATIONS")
    except ValueError as exc:
        config.warn_once("%s; allocations are not sampled"
                         % str(exc)[len("dolon: "):])
        return 0


def unavailable():
    """Why stack sampling cannot work here, or None."""
    return _core.SAMPLING_UNAVAILABLE


class Profiling:
    """The sampler of one run, and the metric of its own cost."""

    def __init__(self, run, hz, allocations, all_threads=True):
        self.run = run
        self.hz = hz
        self.allocations = allocations
        self.all_threads = all_threads
        self.sampler = _core.StackSampler(
            run.sender, float(hz), allocation_interval=float(allocations),
            all_threads=all_threads)
        self._last_cpu = (0, _core.wallclock_us())

    def start(self):
        self.sampler.start()
        return self

    def stop(self):
        self.sampler.stop()

    def sampler_cpu_percent(self):
        """The sampler's CPU since the previous tick, % of one CPU; reports
        (once) a sampler that stopped on an error."""
        error = self.sampler.error
        if error is not None:
            config.warn_once("stack sampling stopped: %s" % error)
        cpu, wall = self.sampler.cpu_ns, _core.wallclock_us()
        last_cpu, last_wall = self._last_cpu
        self._last_cpu = (cpu, wall)
        if wall <= last_wall:
            return None
        return 100.0 * (cpu - last_cpu) / 1000.0 / (wall - last_wall)

    def after_fork_child(self):
        self._last_cpu = (0, _core.wallclock_us())
        self.sampler.after_fork_child()


def attach(run, stack_hz=None, allocations=None):
    """Called by every new TraceRun: its profiling if asked for (by the
    arguments or the environment), else None -- a run that samples nothing
    sends exactly what it sent before.  Never raises for a platform that
    cannot sample: it says so once and traces without."""
    _register(run)
    hz = stack_rate(stack_hz)
    interval = allocation_interval(allocations)
    if not hz and not interval:
        return None
    return _start(run, hz, interval, all_threads=True)


def _start(run, hz, interval, all_threads):
    reason = unavailable()
    if reason is not None:
        config.warn_once("stack sampling is unavailable: %s; tracing without "
                         "it" % reason)
        return None
    if run.protocol != "v1":
        config.warn_once("profiles travel in binary v1 only; the legacy JSON "
                         "protocol traces without them")
        return None
    try:
        profiling = Profiling(run, hz, interval, all_threads).start()
    except (RuntimeError, OSError, ValueError) as exc:
        config.warn_once("sampling not started: %s" % exc)
        return None
    run._add_profiler(profiling.sampler_cpu_percent)
    return profiling


def detach(run):
    """The run ends: its sampler stops and sends what it measured."""
    profiling = getattr(run, "profiling", None)
    if profiling is not None:
        profiling.stop()
    with _lock:
        _runs[:] = [r for r in _runs if r() is not None and r() is not run]


def _register(run):
    with _lock:
        _runs[:] = [r for r in _runs if r() is not None]
        _runs.append(weakref.ref(run))


def current_run():
    """The newest run of this process that has not ended, or None."""
    with _lock:
        for ref in reversed(_runs):
            run = ref()
            if run is not None and not run.ended:
                return run
    return None


# -- fork and exit --------------------------------------------------------

def _after_fork_in_child():
    """In a forked child every live run becomes a new run of the child's --
    new uuid, sequence from 0, its own sampler thread -- so that the child
    never speaks for its parent's run."""
    for ref in list(_runs):
        run = ref()
        if run is None or run.ended:
            continue
        try:
            run.sender.restart(*_new_run_ids(run))
            if run.profiling is not None:
                run.profiling.after_fork_child()
            if run.after_fork_child is not None:
                run.after_fork_child()
        except Exception as exc:        # never break the child
            config.warn_once("tracing stopped in the forked child: %r"
                             % (exc,))


def _new_run_ids(run):
    run.uuid = uuid.uuid4()
    return run.uuid.bytes, str(run.uuid), os.getpid(), _core.wallclock_us()


def _stop_all_samplers():
    """At exit, before the interpreter goes: a sampler thread must not be
    left waiting for a GIL that will never come back."""
    for ref in list(_runs):
        run = ref()
        if run is not None and run.profiling is not None:
            try:
                run.profiling.stop()
            except Exception:
                pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_stop_all_samplers)


# -- dolon.sampling ---------------------------------------------------------

class sampling:
    """Sample stacks only while a function runs, or inside a block.

        @dolon.sampling(hz=100)
        def handle(request): ...            # sync or async

        with dolon.sampling(hz=100):
            work()

    The samples belong to the current run (the newest tracer of the
    process); without one, a dolon.Tracer is started from the environment's
    defaults ($DOLON_TRACER, else the program's name; $DOLON_HOST, ...).
    Only the threads inside a sampling scope are sampled -- for a coroutine,
    its event loop's thread, other tasks included -- unless the run samples
    every thread already.  The rate is the first scope's.
    """

    def __init__(self, hz=DEFAULT_HZ):
        self.hz = checked_stack_hz(hz)
        self._entered = []

    def __enter__(self):
        sampler = _scope_sampler(self.hz)
        if sampler is not None:
            sampler.scope_enter()
        self._entered.append(sampler)
        return self

    def __exit__(self, *exc):
        sampler = self._entered.pop()
        if sampler is not None:
            sampler.scope_exit()
        return False

    def __call__(self, func):
        hz = self.hz
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def sampled(*args, **kwargs):
                with sampling(hz):
                    return await func(*args, **kwargs)
        else:
            @functools.wraps(func)
            def sampled(*args, **kwargs):
                with sampling(hz):
                    return func(*args, **kwargs)
        return sampled


_default_tracer = None


def _scope_sampler(hz):
    """The sampler a scope turns on: None when the run samples every thread
    already (or cannot sample)."""
    global _default_tracer
    run = current_run()
    if run is None:
        from dolon.tracer import Tracer
        with _lock:
            if _default_tracer is None:
                name = os.environ.get("DOLON_TRACER") or _program_name()
                _default_tracer = Tracer(name, 1.0).start()
        run = current_run()
        if run is None:
            return None
    with _lock:
        if run.profiling is None and not run.ended and hz > 0:
            run.profiling = _start(run, hz, 0, all_threads=False)
    profiling = run.profiling
    if profiling is None or profiling.all_threads:
        return None
    return profiling.sampler


def _program_name():
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    return os.path.basename(argv0) or "python"
