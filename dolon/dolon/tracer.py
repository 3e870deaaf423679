"""dolon.Tracer: the same tracer on a background thread, for programs
without an event loop.

    with dolon.Tracer("batch-job", 1.0):
        work()

or tracer = dolon.Tracer(...); tracer.start(); ...; tracer.stop().
Without profiler functions it traces the built-ins for threads (CPU, memory,
threads, file descriptors, gc).  A last tick is taken at stop, so even a
short program leaves a trace.

A bad argument raises at start().  What the environment gets wrong never
does: a bad DOLON_* variable leaves the program untraced after one warning,
and a host name that does not resolve is looked up again on the tracer's
thread until it does (one warning), the run starting then.
"""
import asyncio
import atexit
import threading
import uuid
import warnings

from dolon import builtin_metrics, config, profiling, run


class Tracer:
    """Trace on a daemon thread every `frequency` seconds."""

    def __init__(self, tracer_name, frequency=1.0, host=None, port=None,
                 *profilers, verbose=False, protocol=None, stack_hz=None,
                 allocations=None, key=None):
        self.tracer_name = tracer_name
        self.frequency = frequency
        self.host = host
        self.port = port
        self.protocol = protocol
        self.key = key              # "ID:HEX": sign every datagram
        self.verbose = verbose
        self.stack_hz = stack_hz            # profiling.py
        self.allocations = allocations
        self.profilers = profilers or builtin_metrics.FOR_THREADS
        self.run = None             # set once the host's address is known
        self._settings = None
        self._key = None
        self._thread = None
        self._stop = threading.Event()
        self._loop = None           # for async profiler functions, lazily

    def start(self):
        if self._thread is not None:
            raise RuntimeError("dolon: this Tracer is already started")
        run.check_arguments(self.tracer_name, self.frequency, self.profilers)
        profiling.check_arguments(self.stack_hz, self.allocations)
        key = config.key_argument(self.key, self.protocol)
        self._settings = config.resolve(self.host, self.port, self.protocol)
        if self._settings is None:          # warned: trace nothing
            return self
        self._key = config.resolve_key(key, self._settings[2])
        if self._key is config.UNTRACED:    # warned: trace nothing
            return self
        # a host list: this run's host, chosen from its uuid (dolon.config)
        self._run_uuid = uuid.uuid4()
        host, port = config.host_for_run(self._settings[0], self._settings[1],
                                         self._run_uuid)
        self._settings = (host, port, self._settings[2])
        self.run = None
        address = run.numeric_address_now(host, port)
        if address is not None and not self._make_run(address):
            return self
        self._start_thread()
        # a program that never calls stop() still sends its last tick and END
        atexit.register(self.stop)
        return self

    def _start_thread(self):
        """The ticking thread; again in a forked child, which has none (and
        a fresh Event: the parent's may have been held by a thread that did
        not come along)."""
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
        # still looking its host up: no run to end, and no reason to wait
        # for a name server
        self._thread.join(timeout if self.run is not None else 0)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _make_run(self, address):
        """Start the run; False (warned) if the system refuses a socket."""
        _, port, protocol = self._settings
        try:
            self.run = run.TraceRun(self.tracer_name, self.frequency, address,
                                    port, self.profilers, protocol=protocol,
                                    verbose=self.verbose,
                                    run_uuid=self._run_uuid,
                                    stack_hz=self.stack_hz,
                                    allocations=self.allocations,
                                    key=self._key)
        except OSError as exc:
            config.warn_once("tracer %r not started: %s"
                             % (self.tracer_name, exc))
            return False
        self.run.after_fork_child = self._start_thread
        return True

    def _resolve(self):
        """Look the host up until it resolves (True) or stop() (False)."""
        host, port, _ = self._settings
        while not self._stop.is_set():
            try:
                address = run.numeric_address(host, port)
            except OSError as exc:
                run.host_unresolved(self.tracer_name, host, exc)
                self._stop.wait(config.RESOLVE_RETRY_S)
                continue
            return not self._stop.is_set() and self._make_run(address)
        return False

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
        if self.run is None and not self._resolve():
            return
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
