"""Beyond one machine: two pg_mnemic nodes, each with its own listener, and
a coordinator that answers the reading functions across them (three
throw-away clusters on loopback, regress/pgnodes.py)."""
import math
import os
import socket
import sys
import threading
import time
import uuid

import psycopg2
import pytest

from conftest import wait_until
from pgnodes import TempNodes
from profile_wire import flame_of, graph_diff

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "dolon"))
from dolon import Tracer  # noqa: E402  (built in place by make)

FOLDED = {
    "n1": ("main (job.py:3);load (job.py:20) 30\n"
           "main (job.py:3);load (job.py:20);parse (job.py:41) 50\n"
           "main (job.py:3);save (job.py:60) 20\n"),
    "n2": ("main (job.py:3);load (job.py:20) 5\n"
           "main (job.py:3);fetch (net.py:7) 40\n"
           "other (x.py:1) 1\n"),
}


@pytest.fixture(scope="module")
def cluster():
    nodes = TempNodes(2, node_settings={"pg_mnemic.flush_interval": "50"})
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()


class Session:
    """One coordinator connection, kept (as mnemic-web keeps its own)."""

    def __init__(self, cluster, user="postgres"):
        self.conn = psycopg2.connect(host="127.0.0.1", port=cluster.coordinator.port,
                                     user=user, dbname=cluster.coordinator.dbname)
        self.conn.autocommit = True

    def query(self, sql, params=None):
        del self.conn.notices[:]
        cur = self.conn.cursor()
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None

    def warnings(self):
        return [n for n in self.conn.notices if n.startswith("WARNING")]

    def close(self):
        self.conn.close()


@pytest.fixture
def session(cluster):
    s = Session(cluster)
    yield s
    s.close()


def import_series(node, tracer, run, n=20000, start="2024-01-01"):
    """A metric with a gap, NaN and a NULL in it."""
    node.query(
        "SELECT mnemic.import_series(%s, %s, 'v', array_agg(t ORDER BY g),"
        " array_agg(v ORDER BY g)) FROM ("
        " SELECT g, timestamptz %s + g * interval '10 ms'"
        "   + CASE WHEN g > 12000 THEN interval '1 hour' ELSE '0' END AS t,"
        " CASE WHEN g = 500 THEN 'NaN' WHEN g = 501 THEN NULL"
        "   ELSE sin(g / 300.0) * 100 END::float8 AS v"
        " FROM generate_series(1, %s) g) s", (tracer, str(run), start, n))


def same(a, b):
    """Rows equal, NaN equal to NaN."""
    def norm(v):
        return "NaN" if isinstance(v, float) and math.isnan(v) else v
    return [tuple(map(norm, r)) for r in a] == [tuple(map(norm, r)) for r in b]


# -- dolon with a host list ----------------------------------------------------

def test_runs_sent_by_dolon_to_each_node_are_listed_by_the_coordinator(cluster, session):
    hosts = cluster.dolon_hosts()
    tracers = []
    # start tracers until each node has a run: the uuid decides
    while {cluster.node_of_run(t._run_uuid) for t in tracers} != set(cluster.names):
        assert len(tracers) < 64, "64 runs and still a node without one"
        tracers.append(Tracer("fleet-app", 0.02, hosts, None).start())
    wait_until(lambda: all(t.run.sender.counters["ticks"] >= 2 for t in tracers),
               lambda ok: ok)
    for t in tracers:
        t.stop()
    want = {str(t.run.uuid): cluster.node_of_run(t.run.uuid) for t in tracers}
    for name in cluster.names:
        mine = {r for r, n in want.items() if n == name}
        wait_until(lambda: {str(r) for (r,) in cluster.node(name).query(
            "SELECT run FROM mnemic.runs('fleet-app')")}, lambda got: got == mine)

    rows = session.query("SELECT run, tracer, started FROM mnemic.runs('fleet-app')")
    assert {str(r) for r, _, _ in rows} == set(want)
    starts = [(s, str(r)) for r, _, s in rows]
    assert starts == sorted(starts, reverse=True), "newest first across nodes"
    assert session.warnings() == []
    tracers_row = session.query(
        "SELECT runs FROM mnemic.tracers() WHERE tracer = 'fleet-app'")
    assert tracers_row == [(len(want),)]


# -- the reading functions, through the coordinator --------------------------------

def test_series_through_the_coordinator_equals_the_node_point_for_point(cluster, session):
    run = uuid.uuid4()
    node = cluster.node("n2")
    import_series(node, "equal-app", run)
    calls = [
        ("SELECT * FROM mnemic.series(%s, 'v')", ()),
        ("SELECT * FROM mnemic.series(%s, 'v', points => 300, method => 'lttb')", ()),
        ("SELECT * FROM mnemic.series(%s, 'v', %s, %s, 50, 'avg')",
         ("2024-01-01 00:00:30+00", "2024-01-01 02:00:00+00")),
        ("SELECT * FROM mnemic.series(%s, 'v', %s, %s, method => 'raw')",
         ("2024-01-01 00:00:04.99+00", "2024-01-01 00:00:05.03+00")),
        ("SELECT * FROM mnemic.series_grid(%s, 'v', points => 77)", ()),
        ("SELECT * FROM mnemic.metrics(%s)", ()),
        ("SELECT * FROM mnemic.export_csv(%s)", ()),
        ("SELECT run, tracer, protocol, started, samples, metrics"
         " FROM mnemic.run_info(%s)", ()),
    ]
    for sql, extra in calls:
        want = node.query(sql, (str(run),) + extra)
        got = session.query(sql, (str(run),) + extra)
        assert want and same(got, want), sql
    m4 = session.query("SELECT count(*), count(*) FILTER (WHERE value IS NULL)"
                       " FROM mnemic.series(%s, 'v')", (str(run),))[0]
    assert m4[0] > 100 and m4[1] >= 1, "the gap stays a gap"


def test_errors_are_the_nodes_own(cluster, session):
    run = uuid.uuid4()
    import_series(cluster.node("n1"), "errors-app", run, n=100)
    with pytest.raises(psycopg2.errors.UndefinedObject, match="metric"):
        session.query("SELECT * FROM mnemic.series(%s, 'nope')", (str(run),))
    unknown = str(uuid.uuid4())
    with pytest.raises(psycopg2.errors.UndefinedObject,
                       match="run %s does not exist" % unknown):
        session.query("SELECT * FROM mnemic.run_info(%s)", (unknown,))
    with pytest.raises(psycopg2.errors.UndefinedObject, match="tracer"):
        session.query("SELECT * FROM mnemic.runs('no-such-tracer')")
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="method"):
        session.query("SELECT * FROM mnemic.series(%s, 'v', method => 'x')", (str(run),))
    with pytest.raises(psycopg2.errors.NullValueNotAllowed, match="run must not be NULL"):
        session.query("SELECT * FROM mnemic.series(NULL, 'v')")
    # a tracer on one node only: the other has nothing to add, no error
    assert len(session.query("SELECT * FROM mnemic.runs('errors-app')")) == 1


def test_a_reader_without_superuser_reads_through_the_nodes_role(cluster):
    cluster.coordinator.query("CREATE ROLE web_reader LOGIN IN ROLE mnemic_reader")
    reader = Session(cluster, user="web_reader")
    try:
        assert reader.query("SELECT count(*) FROM mnemic.runs()")[0][0] > 0
        assert {n for n, s in reader.query("SELECT node, state FROM mnemic.nodes()")
                if s == "up"} == set(cluster.names)
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            reader.query("SELECT mnemic.add_node('x', 'host=127.0.0.1')")
    finally:
        reader.close()


# -- profiles ------------------------------------------------------------------

def merged(*graphs):
    out = {}
    for g in graphs:
        for path, (s, t) in g.items():
            a, b = out.get(path, (0, 0))
            out[path] = (a + s, b + t)
    return out


def test_flame_graphs_across_runs_on_two_nodes_are_the_sum_of_each_nodes(cluster, session):
    runs = {name: cluster.node(name).query(
        "SELECT mnemic.import_profile('merge-app', 'collapsed', convert_to(%s, 'UTF8'))",
        (FOLDED[name],))[0][0] for name in cluster.names}
    per_node = [flame_of(cluster.node(n), runs[n], weight="samples") for n in cluster.names]

    got = flame_of_sql(session, "SELECT node, parent, function, file, line, self, total"
                       " FROM mnemic.flamegraph_merged(%s::uuid[], weight => 'samples')",
                       ([runs["n1"], runs["n2"]],))
    assert graph_diff(got, merged(*per_node)) == []
    assert got[()] == (0, 146)

    diff = session.query(
        "SELECT node, parent, function, file, line, self_a, total_a, self_b, total_b"
        " FROM mnemic.flamegraph_diff(%s, NULL, NULL, %s, NULL, NULL, 'samples')",
        (runs["n1"], runs["n2"]))
    side_a = graph_of([r[:5] + (r[5], r[6]) for r in diff])
    side_b = graph_of([r[:5] + (r[7], r[8]) for r in diff])
    assert graph_diff(side_a, per_node[0]) == [] and graph_diff(side_b, per_node[1]) == []
    # the node order of the merged tree is flamegraph()'s
    one = cluster.node("n1").query(
        "SELECT function, file, line, self, total FROM mnemic.flamegraph(%s,"
        " weight => 'samples') ORDER BY node", (runs["n1"],))
    assert session.query(
        "SELECT function, file, line, self, total FROM mnemic.flamegraph_merged(%s::uuid[],"
        " weight => 'samples') ORDER BY node", ([runs["n1"], runs["n1"]],)) == one


def flame_of_sql(session, sql, params):
    return graph_of(session.query(sql, params))


def graph_of(rows):
    path, graph = {}, {}
    for node, parent, function, file, line, self_, total in sorted(rows):
        path[node] = () if parent is None else path[parent] + ((function, file, line),)
        graph[path[node]] = (self_, total)
    return graph


# -- registry --------------------------------------------------------------------

def test_the_registry(cluster, session):
    c = cluster.coordinator
    with pytest.raises(psycopg2.errors.DuplicateObject):
        c.query("SELECT mnemic.add_node('n1', 'host=127.0.0.1')")
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="node name"):
        c.query("SELECT mnemic.add_node('N 1', 'host=127.0.0.1')")
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="connection string"):
        c.query("SELECT mnemic.add_node('n9', 'host=127.0.0.1 bogus')")
    assert c.query("SELECT mnemic.remove_node('n9')") == [(False,)]
    # the same node twice: its runs are on two nodes, and that is said
    run = uuid.uuid4()
    import_series(cluster.node("n1"), "twice-app", run, n=10)
    c.query("SELECT mnemic.add_node('n1_again', %s)", (cluster.conninfo(cluster.node("n1")),))
    try:
        fresh = Session(cluster)
        with pytest.raises(psycopg2.errors.CardinalityViolation, match="n1, n1_again"):
            fresh.query("SELECT * FROM mnemic.metrics(%s)", (str(run),))
        fresh.close()
    finally:
        assert c.query("SELECT mnemic.remove_node('n1_again')") == [(True,)]
    assert c.query("SELECT count(*) FROM pg_foreign_server"
                   " WHERE srvname = 'mnemic_node_n1_again'") == [(0,)]
    assert len(session.query("SELECT * FROM mnemic.runs('twice-app')")) == 1


# -- timeouts and nodes that are down ----------------------------------------------

def test_a_node_slower_than_the_statement_timeout_is_left_out(cluster, session):
    node = cluster.node("n2")
    blocker = node.connect()
    cur = blocker.cursor()
    cur.execute("LOCK TABLE mnemic.run IN ACCESS EXCLUSIVE MODE")
    try:
        # long enough for n1 on a loaded machine; n2 waits on the lock
        session.query("SET pg_mnemic.node_statement_timeout = '2s'")
        started = time.monotonic()
        rows = session.query("SELECT run FROM mnemic.runs()")
        assert time.monotonic() - started < 10
        assert rows and [w for w in session.warnings() if "statement timeout" in w] and \
            all('node "n2" is unavailable' in w for w in session.warnings()), session.warnings()
    finally:
        blocker.rollback()
        blocker.close()
    session.query("RESET pg_mnemic.node_statement_timeout")
    session.query("SELECT run FROM mnemic.runs()")
    assert session.warnings() == []


def test_a_node_that_never_answers_costs_the_connect_timeout(cluster, session):
    # a socket that listens but never accepts: the connection hangs
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    c = cluster.coordinator
    c.query("SELECT mnemic.add_node('silent', %s)",
            ("host=127.0.0.1 port=%d dbname=x user=x password=x"
             % silent.getsockname()[1],))
    try:
        session.query("SET pg_mnemic.node_connect_timeout = 1")
        started = time.monotonic()
        state = dict(session.query("SELECT node, state FROM mnemic.nodes()"))
        assert time.monotonic() - started < 8
        assert state["silent"] == "unavailable" and state["n1"] == "up"
    finally:
        c.query("SELECT mnemic.remove_node('silent')")
        silent.close()


def stop_node(node):
    node.pg_ctl("stop", "-w", "-m", "fast")


def start_node(node):
    node.pg_ctl("start", "-w", "-t", "60", "-l", node.logfile, "-o", "-k %s" % node.dir)


def test_a_node_down_makes_listings_partial_and_its_runs_an_error(cluster, session):
    on_n2 = uuid.uuid4()
    import_series(cluster.node("n2"), "down-app", on_n2, n=100)
    on_n1 = uuid.uuid4()
    import_series(cluster.node("n1"), "down-app", on_n1, n=100)
    everything = session.query("SELECT run FROM mnemic.runs()")
    assert (str(on_n2),) in everything
    other = Session(cluster)        # a session that never saw the run
    try:
        stop_node(cluster.node("n2"))
        partial = session.query("SELECT run FROM mnemic.runs()")
        warned = session.warnings()
        assert len(warned) == 1 and 'node "n2" is unavailable' in warned[0]
        assert (str(on_n1),) in partial and (str(on_n2),) not in partial
        assert set(partial) < set(everything)
        assert session.query("SELECT tracer, runs FROM mnemic.tracers()"
                             " WHERE tracer = 'down-app'") == [("down-app", 1)]
        with pytest.raises(psycopg2.errors.ConnectionFailure,
                           match='run %s is on node "n2", which is unavailable' % on_n2):
            session.query("SELECT * FROM mnemic.series(%s, 'v')", (str(on_n2),))
        with pytest.raises(psycopg2.errors.ConnectionFailure,
                           match='not on any node that answered; unavailable: "n2"'):
            other.query("SELECT * FROM mnemic.metrics(%s)", (str(on_n2),))
        assert other.query("SELECT count(*) FROM mnemic.series(%s, 'v')",
                           (str(on_n1),))[0][0] > 0
        with pytest.raises(psycopg2.errors.ConnectionFailure,
                           match='runs of this call are on node "n2"'):
            session.query("SELECT * FROM mnemic.flamegraph_merged(%s::uuid[])",
                          ([str(on_n1), str(on_n2)],))
        assert dict(session.query("SELECT node, state FROM mnemic.nodes()")) == \
            {"n1": "up", "n2": "unavailable"}
    finally:
        start_node(cluster.node("n2"))
    assert session.query("SELECT run FROM mnemic.runs()") == everything
    assert session.warnings() == []
    assert other.query("SELECT count(*) FROM mnemic.series(%s, 'v')",
                       (str(on_n2),))[0][0] > 0
    # a restart between two calls: the session's old connection is dead,
    # and a new one is made without a warning
    cluster.node("n2").restart()
    assert session.query("SELECT run FROM mnemic.runs()") == everything
    assert session.warnings() == []
    other.close()


def test_the_fan_out_reaches_every_node_before_waiting_for_any(cluster):
    """Both nodes hold the listing at once, each on a lock: sent one after
    the other, the second would not see it until the first answered."""
    blockers = []
    for name in cluster.names:
        conn = cluster.node(name).connect()
        conn.cursor().execute("LOCK TABLE mnemic.run IN ACCESS EXCLUSIVE MODE")
        blockers.append(conn)
    s = Session(cluster)
    result = {}

    def listing():
        started = time.monotonic()
        result["rows"] = s.query("SELECT run FROM mnemic.runs()")
        result["elapsed"] = time.monotonic() - started

    t = threading.Thread(target=listing)
    t.start()
    # both nodes are waiting on their locks once both show the listing blocked
    wait_until(lambda: [cluster.node(n).query(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND application_name = 'pg_mnemic coordinator'")[0][0] for n in cluster.names],
        lambda counts: counts == [1, 1])
    for conn in blockers:
        conn.rollback()
        conn.close()
    t.join(30)
    s.close()
    assert result["rows"]


def test_writes_through_the_coordinator_go_to_one_node(cluster, session):
    """Writing needs a node role that may: here a mapping of its own for
    the coordinator's postgres, which wins over PUBLIC's reader."""
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        session.query("SELECT mnemic.import_profile('x', 'collapsed', 'a 1'::bytea)")
    for name in cluster.names:
        cluster.coordinator.query(
            "CREATE USER MAPPING FOR postgres SERVER mnemic_node_%s"
            " OPTIONS (user 'postgres')" % name)
    try:
        writes_go_to_one_node(cluster, session)
    finally:
        for name in cluster.names:
            cluster.coordinator.query(
                "DROP USER MAPPING FOR postgres SERVER mnemic_node_%s" % name)


def writes_go_to_one_node(cluster, session):
    run = uuid.uuid4()
    for ts in ("2024-01-01 00:00:00+00", "2024-01-01 00:00:01+00"):
        assert session.query(
            "SELECT mnemic.import_series('placed-app', %s, 'v', ARRAY[%s::timestamptz],"
            " ARRAY[1.0])", (str(run), ts)) == [(1,)]
    home = cluster.node_of_run(run)          # where dolon would send it
    for name in cluster.names:
        assert cluster.node(name).query(
            "SELECT count(*) FROM mnemic.samples WHERE run = %s",
            (str(run),)) == [(2 if name == home else 0,)]
    imported = session.query(
        "SELECT mnemic.import_profile('placed-app', 'collapsed', convert_to('a;b 3', 'UTF8'))")[0][0]
    assert session.query("SELECT total FROM mnemic.flamegraph(%s, weight => 'samples')"
                         " WHERE node = 0", (imported,)) == [(3.0,)]
    with pytest.raises(psycopg2.errors.FeatureNotSupported, match="coordinator"):
        session.query("SELECT mnemic.ingest_datagram('\\x00'::bytea)")


def test_the_listener_counters_of_a_coordinator_are_its_nodes_summed(cluster, session):
    columns = "datagrams_received, samples_stored, malformed, malformed_by_reason"
    per_node = [n.query("SELECT %s FROM mnemic.listener_stats()" % columns)[0]
                for n in cluster.nodes]
    total = session.query("SELECT %s FROM mnemic.listener_stats()" % columns)[0]
    assert total[0] == sum(p[0] for p in per_node) > 0
    assert total[1] == sum(p[1] for p in per_node)
    assert total[2] == sum(p[2] for p in per_node)
    assert total[3] == {k: sum(p[3][k] for p in per_node) for k in per_node[0][3]}
    assert session.query("SELECT receiver_pid FROM mnemic.listener_stats()") == [(None,)]
    # signed ingest: the drop counters summed; the keys are each node's own
    auth = "bad_auth, unknown_key, unsigned, replayed, ingest_keys"
    per_node = [n.query("SELECT %s FROM mnemic.listener_stats()" % auth)[0]
                for n in cluster.nodes]
    total = session.query("SELECT %s FROM mnemic.listener_stats()" % auth)[0]
    assert total[:4] == tuple(sum(p[i] for p in per_node) for i in range(4))
    assert total[4] is None and all(p[4] is not None for p in per_node)
