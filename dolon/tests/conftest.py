"""Shared fixtures: the package under test, a UDP receiver, a decoder."""
import asyncio
import json
import os
import socket
import sys
import textwrap
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DOLON_ROOT = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(DOLON_ROOT)
sys.path.insert(0, DOLON_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "regress"))
sys.path.insert(0, HERE)


class UdpReceiver:
    """A real UDP socket on 127.0.0.1 collecting what dolon sends."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def drain(self, wait=0.2):
        """Every datagram that arrives until `wait` seconds pass quietly."""
        out = []
        self.sock.settimeout(wait)
        while True:
            try:
                out.append(self.sock.recv(70000))
            except socket.timeout:
                return out

    def close(self):
        self.sock.close()


@pytest.fixture
def receiver():
    r = UdpReceiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _fresh_profiler_registry():
    from dolon import profiler
    profiler.clear()
    yield
    profiler.clear()


def wait_until(predicate, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


# For programs the tests run as scripts: wait_for_ticks(run, want) blocks
# until the run has taken `want` ticks.  The run's tick is wrapped to notify
# a condition, so the wait ends on the tick itself, however slowly a busy
# machine runs the tracer's thread (and exits the script after `timeout`).
WAIT_FOR_TICKS = textwrap.dedent("""
    def wait_for_ticks(run, want, timeout=30):
        import sys, threading
        ticked = threading.Condition()
        tick_sync = run.tick_sync

        def tick_and_tell(*args):
            try:
                return tick_sync(*args)
            finally:
                with ticked:
                    ticked.notify_all()

        run.tick_sync = tick_and_tell
        with ticked:
            if not ticked.wait_for(
                    lambda: run.sender.counters["ticks"] >= want, timeout):
                sys.exit("no %d ticks within %d s" % (want, timeout))
""")


async def until_ticked(tracer_name, at_least, timeout=10.0):
    """In the event loop a start_tracer task runs in: wait until its run
    (the newest of tracer_name not ended) has ticked at_least times, however
    slowly a busy machine runs the loop; True if it has within timeout."""
    from dolon import profiling

    def ticked():
        run = profiling.current_run()
        return (run is not None and run.tracer_name == tracer_name
                and run.sender.counters["ticks"] >= at_least)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not ticked() and loop.time() < deadline:
        await asyncio.sleep(0.01)
    return ticked()


async def trace_ticks(ticks, tracer_name, *args, **kwargs):
    """start_tracer until its run has ticked `ticks` times, then cancel it
    (it takes no last tick then)."""
    from dolon import trace_client
    task = asyncio.ensure_future(trace_client.start_tracer(
        tracer_name, *args, **kwargs))
    assert await until_ticked(tracer_name, ticks)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(cluster, timeout=20):
    """The listener may still be starting: probe it with a legacy JSON run
    (plain socket, not dolon) until a row is stored."""
    run = str(uuid.uuid4())
    header = json.dumps({"msg_type": "create_trace_run", "app_name": "probe",
                         "column_names": ["x"], "uuid": run})
    row = json.dumps({"msg_type": "row", "row_data": [1], "uuid": run})

    def probe():
        cluster.send_udp([header, row])
        return cluster.query("SELECT count(*) FROM mnemic.samples "
                             "WHERE tracer = 'probe'")[0][0] > 0

    if not wait_until(probe, timeout=timeout, step=0.2):
        raise AssertionError("pg_mnemic stored nothing within %ds:\n%s"
                             % (timeout, cluster.log()[-2000:]))


@pytest.fixture(scope="module")
def backend():
    """A throw-away cluster with pg_mnemic listening (regress/pgtemp.py)."""
    pgtemp = pytest.importorskip("pgtemp")
    c = pgtemp.TempCluster()
    c.start()
    try:
        wait_until_listening(c)
        yield c
    finally:
        c.stop()
