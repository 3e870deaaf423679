"""Shared fixtures for the end-to-end tests: a throw-away cluster with
pg_mnemic preloaded (regress/pgtemp.py) and helpers to send and read traces.
"""
import json
import os
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from pgtemp import TempCluster  # noqa: E402
from v1wire import v1_datagram, v1_describe, v1_ticks  # noqa: E402,F401


def legacy_header(run, app, columns):
    return json.dumps({"msg_type": "create_trace_run", "app_name": app,
                       "column_names": columns, "uuid": str(run)})


def legacy_row(run, values):
    return json.dumps({"msg_type": "row", "row_data": values,
                       "uuid": str(run)})


def stats(cluster, dbname=None):
    """mnemic.listener_stats() as a dict (needs the extension in dbname)."""
    conn = cluster.connect(dbname)
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT * FROM mnemic.listener_stats()")
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))
    finally:
        conn.close()


def wait_until(what, predicate, timeout=15.0, interval=0.05):
    """Poll what() until predicate(value) holds; return the value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = what()
            if predicate(value):
                return value
        except Exception as e:  # server restarting, database missing, ...
            value = e
        time.sleep(interval)
    raise AssertionError("timed out waiting; last value: %r" % (value,))


def stored_samples(cluster, run):
    return cluster.query("SELECT count(*) FROM mnemic.samples WHERE run = %s",
                         (str(run),))[0][0]


def worker_pids(cluster):
    """{backend_type: pid} of the listener's workers, from pg_stat_activity."""
    rows = cluster.query("SELECT backend_type, pid FROM pg_stat_activity "
                         "WHERE backend_type LIKE 'pg_mnemic %'",
                         dbname="postgres")
    return dict(rows)


def log_count(cluster, text):
    return cluster.log().count(text)


@pytest.fixture
def cluster():
    """A fresh cluster per test, database mnemic with the extension."""
    c = TempCluster(settings={"pg_mnemic.flush_interval": "50"})
    try:
        c.start()       # inside try: a failed start still cleans up
        yield c
    finally:
        c.stop()


def new_run():
    return uuid.uuid4()

