"""mnemic-web keeps answering new clients while others hold its
connections: idle ones, slow ones (slowloris) and busy keep-alive ones.

The bounds are the acceptance criteria of the starvation defect: with 64
idle or slow connections held, a new client's /healthz within 1 s; under
50 busy clients, a new client's p99 under 500 ms.  Each probe is timed
from a fresh connection; the busy clients run in a child process for a
bounded time, so the probe does not wait on their interpreter lock."""
import pytest

import load
import webserver
from webserver import WebServer

HELD = 64
BUSY = 50
PROBES = 60


@pytest.fixture(scope="module")
def server(cluster, data):
    with WebServer(cluster.uri(user=webserver.reader_role(cluster))) as w:
        yield w


@pytest.mark.parametrize("kind", ["idle", "slow"])
def test_held_connections_leave_room_for_a_new_client(server, kind):
    with load.HeldConnections(server.port, HELD, kind, interval=2.0, max_seconds=60):
        seconds = load.probe(server.port, timeout=10)
        assert seconds < 1.0, "%s connections held: /healthz took %.2f s" % (kind, seconds)
        # Not just the first: a few more, from a new connection each.
        worst = max(load.probe(server.port, timeout=10) for _ in range(5))
        assert worst < 1.0, worst


def test_slow_header_is_cut_off(server):
    """A header dripped a line at a time gets the connection closed once
    the request timeout has passed, instead of holding a thread for ever."""
    import socket
    import time
    with load.HeldConnections(server.port, 1, "slow", interval=1.0, max_seconds=40) as held:
        sock = held.socks[0]
        sock.settimeout(30)
        start = time.monotonic()
        try:
            while sock.recv(4096):
                pass            # CivetWeb may say 408 or nothing; then EOF
        except (ConnectionResetError, socket.timeout):
            pass
        assert time.monotonic() - start < 25


def test_busy_clients_leave_room_for_a_new_client(server):
    samples = load.latencies_under_busy(server.port, clients=BUSY, probes=PROBES,
                                        seconds=60)
    assert len(samples) == PROBES, "only %d probes in 60 s" % len(samples)
    p99 = load.percentile(samples, 99)
    assert p99 < 0.5, "p99 %.3f s, worst %.3f s" % (p99, max(samples))
    # And the busy clients themselves were served all along.
    assert server.get_json("/healthz")["status"] == "ok"
