"""One traced run: the metric layout, one tick, the end.

Shared by the asyncio tracer (trace_client.start_tracer) and the thread
tracer (dolon.Tracer).  The C Sender reads the built-ins and @profiler
statistics, and speaks the wire format (binary v1, or legacy JSON) in full;
this layer only calls the user's profiler functions and keeps the host
program safe from them.
"""
import inspect
import math
import os
import platform
import socket
import sys
import time
import uuid
import warnings

from dolon import _core, builtin_metrics, config, profiling

DESCRIBE_INTERVAL_S = 10.0
_PROFILE_STATS = (("hits", 0), ("active_instances", 1), ("average_time", 2))


def metric_name(func):
    """The metric a profiler function feeds, named as dolon 0.2.0 named it."""
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) else type(func).__name__


def check_arguments(tracer_name, frequency, profilers):
    """Raise for what the calling code got wrong, before anything starts."""
    if not isinstance(tracer_name, str) or not tracer_name:
        raise ValueError("dolon: the tracer name must be a non-empty str")
    if "\0" in tracer_name:
        raise ValueError("dolon: the tracer name must not contain NUL")
    if (isinstance(frequency, bool) or
            not isinstance(frequency, (int, float)) or
            not 0 < frequency < math.inf):
        raise ValueError("dolon: frequency must be a positive number of "
                         "seconds, not %r" % (frequency,))
    for func in profilers:
        if not callable(func):
            raise TypeError("dolon: a profiler function must be callable, "
                            "not %r" % (func,))


def numeric_address(host, port):
    """host as a numeric IP.  Resolving a name may block for as long as the
    name servers take: call it off the program's threads."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
    return infos[0][4][0]


def numeric_address_now(host, port):
    """host as a numeric IP if it is one already (no lookup), else None."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM, 0,
                                   socket.AI_NUMERICHOST)
    except socket.gaierror:
        return None
    return infos[0][4][0]


def host_unresolved(tracer_name, host, exc):
    config.warn_once(
        "tracer %r cannot resolve %r (%s); it traces from when the name "
        "resolves, trying every %g s" % (tracer_name, host, exc,
                                         config.RESOLVE_RETRY_S))


def clip_utf8(text, limit=1024):
    """text cut to at most `limit` bytes of UTF-8 (the protocol's limit for
    a string), on a character boundary, without NUL characters."""
    data = text.replace("\0", "").encode("utf-8", "replace")[:limit]
    return data.decode("utf-8", "ignore")


def program_text():
    argv = getattr(sys, "orig_argv", None) or [sys.executable] + sys.argv
    return clip_utf8(" ".join(os.path.basename(a) if i == 0 else a
                              for i, a in enumerate(argv)), 512)


class TraceRun:
    """Measure and send the ticks of one run."""

    def __init__(self, tracer_name, frequency, ip, port, profilers,
                 protocol="v1", verbose=False, loop=None,
                 with_profiled=True, with_cost=True, run_uuid=None,
                 stack_hz=None, allocations=None, key=None):
        check_arguments(tracer_name, frequency, profilers)
        self.tracer_name = tracer_name
        self.frequency = float(frequency)
        self.protocol = protocol
        self.verbose = verbose
        self.loop = loop
        self.loop_lag_ms = None
        self.last_cost_us = None
        # made by the caller when it chose the host by it (config.host_for_run)
        self.uuid = run_uuid or uuid.uuid4()
        self._with_profiled = with_profiled
        self._externals = []        # (name, function, fast reader or None)
        self._profiled = set()      # ids of ProfileStats already laid out
        # (the Sender holds a reference to each, so ids are not reused)
        self._registry_version = None
        self._warned = set()
        self.ended = False
        self.profiling = None           # stack sampling (profiling.py)
        self.after_fork_child = None    # set by a tracer with a thread
        self.sender = _core.Sender(
            ip, port, self.uuid.bytes, str(self.uuid), tracer_name,
            clip_utf8(socket.gethostname()), program_text(),
            platform.python_version(), os.getpid(),
            min(int(self.frequency * 1e6), 0xFFFFFFFF), _core.wallclock_us(),
            _core.BuiltinReader(), protocol=protocol,
            describe_interval_us=int(DESCRIBE_INTERVAL_S * 1e6), key=key)
        for func in profilers:
            self._add_profiler(func)
        if with_cost:
            self._add_profiler(builtin_metrics.tracer_cost_us)
        self.profiling = profiling.attach(self, stack_hz, allocations)
        self._sync_profiled()

    # -- layout ------------------------------------------------------------
    def _add_profiler(self, func):
        name = metric_name(func)
        code = builtin_metrics.READ_IN_C.get(func)
        if code is not None:
            self.sender.add_builtin(name, code)
            return
        self.sender.add_external(name)
        self._externals.append((name, func, builtin_metrics.READ_IN_PYTHON.get(func)))

    def _sync_profiled(self):
        """Lay out @profiler statistics registered since the last look."""
        if not self._with_profiled:
            return
        version = _core.registry_version()
        if version == self._registry_version:
            return
        self._registry_version = version
        for stats in _core.profile_stats():
            if id(stats) in self._profiled:
                continue
            self._profiled.add(id(stats))
            try:
                for tag, which in _PROFILE_STATS:
                    self.sender.add_profile("%s_%s" % (stats.name, tag),
                                            stats, which)
            except ValueError as exc:   # a name too long, too many metrics
                self._warn_once(stats.name, "@profiler function %s is not "
                                "traced: %s" % (stats.qualname, exc))

    @property
    def names(self):
        return self.sender.names

    # -- one tick ----------------------------------------------------------
    def _warn_once(self, name, message):
        if name not in self._warned:
            self._warned.add(name)
            warnings.warn("dolon: %s" % message, RuntimeWarning, stacklevel=3)

    def _checked(self, name, value):
        """value as a float, or None (left out) after one warning."""
        if value is None or type(value) is float:
            return value
        try:
            return float(value)         # ints, numpy scalars, Decimal, ...
        except OverflowError:           # 10**400: no float8 holds it
            self._warn_once(name, "profiler function %s returned a number "
                            "beyond a float's range (1.8e308); such values "
                            "are left out" % name)
        except (TypeError, ValueError):
            self._warn_once(name, "profiler function %s returned %.100r, "
                            "not a number; its values are left out"
                            % (name, value))
        return None

    def _failed(self, name, exc):
        self._warn_once(name, "profiler function %s raised %s: %s; its "
                        "values are left out until it recovers"
                        % (name, type(exc).__name__, exc))
        return None

    async def tick_async(self, run_coroutine=None):
        """Measure one tick and hand it to the sender.

        A profiler function may return an awaitable: it is awaited in the
        running event loop or, when run_coroutine is given (the thread
        tracer, through tick_sync), run to completion by it.
        """
        started = time.perf_counter_ns()
        self._sync_profiled()
        ts_us = _core.wallclock_us()
        values = []
        for name, func, fast in self._externals:
            try:
                if fast is not None:
                    value = fast(self)
                else:
                    value = func()
                    if inspect.isawaitable(value):
                        if run_coroutine is None:
                            value = await value
                        else:
                            value = run_coroutine(value)
                value = self._checked(name, value)
            except Exception as exc:        # never harm the host program
                value = self._failed(name, exc)
            values.append(value)
        self.sender.tick(ts_us, values)
        self.last_cost_us = (time.perf_counter_ns() - started) / 1000.0
        if self.verbose:
            print("Sending:", dict(zip(self.sender.names,
                                       self.sender.values)))

    def tick_sync(self, run_coroutine):
        """tick_async for a thread without a running event loop."""
        tick = self.tick_async(run_coroutine)
        try:
            tick.send(None)     # awaits nothing, so it ends at the first step
        except StopIteration:
            return
        tick.close()
        raise RuntimeError("dolon: a thread tick awaited")

    def end(self):
        """Send what is pending and the end of the run; close the socket."""
        try:
            profiling.detach(self)
            self.ended = True
            self.sender.end(_core.wallclock_us())
        finally:
            self.sender.close()
