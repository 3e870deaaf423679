"""Hostile and heavy clients of mnemic-web, for the starvation tests and
their figures: connections that hold a worker and send nothing, or a
header line now and then (slowloris), and busy keep-alive clients.

Every loop here is bounded in count and time and talks to 127.0.0.1 only.
The busy clients run in a child process (python3 load.py busy ...), so
their threads do not share the interpreter lock with the probe that times
a new client.

    python3 load.py figures PORT    the figures of web/README.md's "Load"
"""
import http.client
import os
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time


def probe(port, path="/healthz", timeout=30.0, tls_context=None):
    """Seconds a new client waits for path: connect, request, whole
    response, on a fresh connection; raises on a timeout or a non-200."""
    start = time.monotonic()
    if tls_context is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=tls_context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise AssertionError("%s answered %d" % (path, resp.status))
    finally:
        conn.close()
    return time.monotonic() - start


class HeldConnections:
    """n connections that each hold whatever the server gives them.

    kind "idle" sends nothing; kind "slow" sends a request line and then
    one header line every interval seconds, never the blank line that ends
    the header.  Closed by close() or leaving the with block, and in any
    case after at most max_seconds.
    """

    def __init__(self, port, n, kind, interval=2.0, max_seconds=60.0):
        self.socks = []
        self.kind = kind
        self.interval = interval
        self.deadline = time.monotonic() + max_seconds
        self.stop = threading.Event()
        self.thread = None
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if kind == "slow":
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.socks.append(s)
        if kind == "slow":
            self.thread = threading.Thread(target=self._drip, daemon=True)
            self.thread.start()

    def _drip(self):
        i = 0
        while not self.stop.wait(self.interval) and time.monotonic() < self.deadline:
            i += 1
            for s in self.socks:
                try:
                    s.sendall(b"X-Slow-%d: %d\r\n" % (i, i))
                except OSError:
                    pass        # the server hung up: as it should

    def close(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        for s in self.socks:
            s.close()
        self.socks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _busy_client(port, path, stop_at, counts, errors):
    conn = None
    done = 0
    while time.monotonic() < stop_at:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            done += 1
        except (OSError, http.client.HTTPException):
            errors.append(1)
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()
    counts.append(done)


def run_busy(port, clients, seconds, path):
    """The child process: clients keep-alive threads requesting path back
    to back for seconds; prints "ready" when all have started, then the
    requests and errors at the end."""
    stop_at = time.monotonic() + seconds
    counts, errors = [], []
    threads = [threading.Thread(target=_busy_client,
                                args=(port, path, stop_at, counts, errors))
               for _ in range(clients)]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()
    print("requests %d errors %d" % (sum(counts), len(errors)), flush=True)


class BusyClients:
    """clients keep-alive clients in a child process, for at most seconds
    (or until close()); entering waits until they all run."""

    def __init__(self, port, clients=50, seconds=30.0, path="/api/tracers"):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "busy", str(port),
             str(clients), str(seconds), path],
            stdout=subprocess.PIPE, text=True)
        self.summary = None

    def __enter__(self):
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", line
        return self

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        self.summary = out.strip()

    def __exit__(self, *exc):
        self.close()


def percentile(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def latencies_under_busy(port, clients=50, probes=100, seconds=60.0):
    """A new client's /healthz latencies, one fresh connection each, while
    clients busy keep-alive clients run."""
    samples = []
    deadline = time.monotonic() + seconds
    with BusyClients(port, clients, seconds):
        while len(samples) < probes and time.monotonic() < deadline:
            try:
                samples.append(probe(port, timeout=max(0.1, deadline - time.monotonic())))
            except (OSError, AssertionError):
                samples.append(float("inf"))
    return samples


def figures(port):
    """What web/README.md reports, measured against a running server."""
    def held(kind):
        with HeldConnections(port, 64, kind):
            try:
                return "%.3f s" % probe(port, timeout=30)
            except OSError as e:
                return "no answer in 30 s (%s)" % e.__class__.__name__
    print("healthz with 64 idle connections held:", held("idle"))
    print("healthz with 64 slow connections held:", held("slow"))
    samples = latencies_under_busy(port)
    print("healthz under 50 busy clients: %d probes in 60 s, p50 %.3f s, p99 %.3f s, "
          "max %.3f s" % (len(samples), statistics.median(samples),
                          percentile(samples, 99), max(samples)))


if __name__ == "__main__":
    if sys.argv[1] == "busy":
        run_busy(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "figures":
        figures(int(sys.argv[2]))
    else:
        sys.exit(__doc__)
