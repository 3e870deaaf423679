"""One PostgreSQL cluster, one mnemic-web and one set of runs for all the
API tests: starting a cluster costs seconds, the tests only read."""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import webserver  # noqa: E402
from webserver import TempCluster, WebServer  # noqa: E402

HOSTILE_TRACER = "<img src=x onerror=alert(1)>"
HOSTILE_METRICS = ['quote"d;--', "<script>alert(2)</script>", "naïve ✓ ünïcödé",
                   "with space", "plus+amp&pct%"]
IMPORT_START = 1704067200.0         # 2024-01-01 00:00:00 UTC
IMPORT_POINTS = 5000


class Data:
    pass


@pytest.fixture(scope="session")
def cluster():
    c = TempCluster()
    try:
        # stop() also cleans up after a start that failed halfway.
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def data(cluster):
    d = Data()
    d.legacy_rows = [[float(i), 100.0 + i * 0.5] for i in range(20)]
    d.legacy = webserver.send_legacy_run(cluster, "web-api-test", ["cpu", "mem"],
                                         d.legacy_rows)
    d.hostile = webserver.send_legacy_run(
        cluster, HOSTILE_TRACER, HOSTILE_METRICS,
        [[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]])
    # Two runs of one tracer, an hour apart, and a gap in the newer one.
    d.older = webserver.import_run(cluster, "imported", {"sine": lambda i: math.sin(i / 50)},
                                   IMPORT_START, 100)
    d.sine = webserver.import_run(
        cluster, "imported",
        {"sine": lambda i: math.sin(i / 50), "ramp": lambda i: float(i)},
        IMPORT_START + 3600, IMPORT_POINTS)
    return d


@pytest.fixture(scope="session")
def web(cluster, data):
    role = webserver.reader_role(cluster)
    with WebServer(cluster.uri(user=role)) as w:
        yield w


@pytest.fixture(scope="session")
def owner_web(cluster, data):
    """A second server allowed to delete: a token, and a role that may."""
    with WebServer(cluster.uri(user=webserver.owner_role(cluster)), token="s3cret-token") as w:
        yield w
