"""dolon.Tracer: the same tracer on a background thread, for programs
without an event loop.

    with dolon.Tracer("batch-job", 1.0):
        work()

or tracer = dolon.Tracer(...); tracer.start(); ...; tracer.stop().
Without profiler functions it traces the built-ins for threads (CPU, memory,
threads, file descriptors, gc).  A last tick is taken at stop, so even a
short program leaves a trace.
"""
import asyncio
import atexit
import threading
import warnings

from dolon import builtin_metrics, run


class Tracer:
    """Trace on a daemon thread every `frequency` seconds."""

    def __init__(self, tracer_name, frequency=1.0, host=None, port=None,
                 *profilers, verbose=False, protocol=None, stack_hz=None,
                 allocations=None):
        self.tracer_name = tracer_name
        self.frequency = frequency
        self.host = host
        self.port = port
        self.protocol = protocol
        self.verbose = verbose
        self.stack_hz = stack_hz            # profiling.py
        self.allocations = allocations
        self.profilers = profilers or builtin_metrics.FOR_THREADS
        self.run = None
        self._thread = None
        self._stop = threading.Event()
        self._loop = None           # for async profiler functions, lazily

    def start(self):
        if self._thread is not None:
            raise RuntimeError("dolon: this Tracer is already started")
        self.run = run.make_run(self.tracer_name, self.frequency, self.host,
                                self.port, self.profilers,
                                protocol=self.protocol, verbose=self.verbose,
                                stack_hz=self.stack_hz,
                                allocations=self.allocations)
        self.run.after_fork_child = self._start_thread
        self._start_thread()
        # a program that never calls stop() still sends its last tick and END
        atexit.register(self.stop)
        return self

    def _start_thread(self):
        """The ticking thread; again in a forked child, which has none."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main,
                                        name="dolon-tracer-%s"
                                        % self.tracer_name, daemon=True)
        self._thread.start()

    def stop(self, timeout=None):
        """Take a last tick, send the end of the run, stop the thread."""
        if self._thread is None:
            return
        atexit.unregister(self.stop)
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run_coroutine(self, coroutine):
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def _tick(self):
        try:
            self.run.tick_sync(self._run_coroutine)
        except Exception as exc:            # a bug of ours: warn, go on
            self.run._warn_once("<tick>", "a tick failed: %r" % (exc,))

    def _main(self):
        try:
            while not self._stop.wait(self.run.frequency):
                self._tick()
            self._tick()
        finally:
            try:
                self.run.end()
            except Exception as exc:
                warnings.warn("dolon: ending the run failed: %r" % (exc,),
                              RuntimeWarning)
            if self._loop is not None:
                self._loop.close()
                self._loop = None
