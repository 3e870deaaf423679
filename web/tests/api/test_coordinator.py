"""mnemic-web pointed at a coordinator of two nodes (regress/pgnodes.py)
answers as it does pointed at the node that holds a run, byte for byte;
its listing spans both nodes; a node that is down shows as a warning on
the listing and as a 503 for its runs."""
import json
import math
import urllib.parse

import pytest

import webserver
from pgnodes import TempNodes
from webserver import WebServer

IMPORT_START = 1704067200.0


@pytest.fixture(scope="module")
def nodes():
    with TempNodes(2) as n:
        yield n


@pytest.fixture(scope="module")
def runs(nodes):
    n1, n2 = nodes.nodes
    return {
        "legacy": webserver.send_legacy_run(n1, "web-coord", ["cpu", "mem"],
                                            [[float(i), 100.0 + i] for i in range(30)]),
        "sine": webserver.import_run(n2, "web-coord", {
            "sine": lambda i: math.sin(i / 50), "ramp": lambda i: float(i)},
            IMPORT_START, 5000),
    }


FOLDED = ("main (job.py:3);load (job.py:20) 30\n"
          "main (job.py:3);load (job.py:20);parse (job.py:41) 50\n"
          "main (job.py:3);save (job.py:60) 20\n")


@pytest.fixture(scope="module")
def profiles(nodes):
    """Two profiled runs on n2 and one on n1 (imported folded stacks)."""
    def imported(node, text):
        return node.query("SELECT mnemic.import_profile('web-prof', 'collapsed',"
                          " convert_to(%s, 'UTF8'))", (text,))[0][0]
    n1, n2 = nodes.nodes
    return {"a": imported(n2, FOLDED), "b": imported(n2, FOLDED.replace("50", "5")),
            "c": imported(n1, "main (job.py:3);other (x.py:1) 7\n")}


@pytest.fixture(scope="module")
def webs(nodes, runs, profiles):
    """(web on the coordinator, {node name: web on that node})."""
    servers = [WebServer(nodes.coordinator.uri(user=webserver.reader_role(nodes.coordinator)))]
    servers += [WebServer(n.uri(user=webserver.reader_role(n))) for n in nodes.nodes]
    try:
        for s in servers:
            s.start()
        yield servers[0], dict(zip(nodes.names, servers[1:]))
    finally:
        for s in servers:
            s.stop()


def paths(run, metrics):
    q = urllib.parse.urlencode({"metric": metrics}, doseq=True)
    return ["/api/runs/%s" % run, "/api/runs/%s/metrics" % run,
            "/api/runs/%s/series?%s" % (run, q),
            "/api/runs/%s/series?%s&points=50&method=lttb" % (run, q),
            "/api/runs/%s/series?%s&from=%d&to=%d" % (run, q, IMPORT_START + 100,
                                                      IMPORT_START + 900),
            "/api/runs/%s.csv" % run]


def test_a_run_answers_as_on_its_node(webs, runs):
    coordinator, on_node = webs
    for run, node, metrics in ((runs["legacy"], "n1", ["cpu", "mem"]),
                               (runs["sine"], "n2", ["sine", "ramp"])):
        for path in paths(run, metrics):
            want = on_node[node].request("GET", path)
            got = coordinator.request("GET", path)
            assert want[0] == 200 and got[0] == want[0], path
            assert got[2] == want[2], path
            assert "mnemic-warning" not in got[1]


def test_profiles_answer_as_on_their_node(webs, profiles):
    coordinator, on_node = webs
    a, b = profiles["a"], profiles["b"]
    for path in ["/api/runs/%s/flamegraph" % a,
                 "/api/runs/%s/flamegraph?weight=samples" % a,
                 "/api/runs/%s/flamegraph/diff?base=%s&weight=samples" % (a, b),
                 "/api/runs/%s/top?n=2" % a,
                 "/api/runs/%s/threads" % a,
                 "/api/runs/%s/allocations" % a,
                 "/api/runs/%s/profile?format=collapsed&weight=samples" % a]:
        want = on_node["n2"].request("GET", path)
        got = coordinator.request("GET", path)
        assert want[0] == 200 and got[0] == 200 and got[2] == want[2], path


def test_a_diff_of_runs_on_two_nodes(webs, profiles):
    coordinator, on_node = webs
    a, c = profiles["a"], profiles["c"]
    diff = coordinator.get_json("/api/runs/%s/flamegraph/diff?base=%s&weight=samples" % (c, a))
    whole = json.dumps(diff)
    assert "other" in whole and "parse" in whole, "both nodes' frames in one tree"


def test_the_listing_spans_the_nodes(webs, runs):
    coordinator, on_node = webs
    status, headers, body = coordinator.request("GET", "/api/tracers")
    assert status == 200 and "mnemic-warning" not in headers
    tracers = {t["tracer"]: t for t in json.loads(body)["tracers"]}
    assert tracers["web-coord"]["runs"] == 2, "counted on both nodes"
    page = coordinator.get_json("/api/runs?tracer=web-coord")
    assert [r["run"] for r in page["runs"]] == [runs["legacy"], runs["sine"]], \
        "newest first, across nodes"
    # A page of one, then the next from its keyset: across nodes too.
    first = coordinator.get_json("/api/runs?tracer=web-coord&limit=1")
    assert [r["run"] for r in first["runs"]] == [runs["legacy"]] and first["next"]
    second = coordinator.get_json("/api/runs?" + urllib.parse.urlencode(
        dict(tracer="web-coord", limit=1, **first["next"])))
    assert [r["run"] for r in second["runs"]] == [runs["sine"]] and second["next"] is None
    everything = coordinator.get_json("/api/runs?limit=1000")["runs"]
    for name, web in on_node.items():
        for r in web.get_json("/api/runs?limit=1000")["runs"]:
            ours = [x for x in everything if x["run"] == r["run"]]
            assert ours == [r] or r["state"] == "active", (name, r)


def test_changes_are_not_followed_through_a_coordinator(webs):
    # A coordinator's transactions say nothing of its nodes': no cursor, and
    # a node's cursor given to it is refused (the UI then asks again whole).
    coordinator, on_node = webs
    assert coordinator.get_json("/api/tracers")["cursor"] is None
    assert coordinator.get_json("/api/runs?limit=1")["cursor"] is None
    cursor = on_node["n1"].get_json("/api/tracers")["cursor"]
    assert cursor
    for path in ("/api/tracers", "/api/runs"):
        status, _, body = coordinator.request("GET", path + "?changed_since=" + cursor)
        assert status == 400 and b"coordinator" in body, (path, body)


def test_unknown_runs_and_bad_parameters_fail_as_on_a_node(webs, runs):
    coordinator, on_node = webs
    for path in ["/api/runs/00000000-0000-4000-8000-000000000000",
                 "/api/runs/%s/series?metric=nope" % runs["sine"],
                 "/api/runs/%s/series?metric=sine&method=bogus" % runs["sine"]]:
        want = on_node["n2"].request("GET", path)
        got = coordinator.request("GET", path)
        assert want[0] in (400, 404) and got[0] == want[0], (path, got)


def test_a_node_down_is_a_warning_on_the_tree_and_a_503_for_its_runs(nodes, webs, runs):
    coordinator, _ = webs
    n2 = nodes.node("n2")
    n2.pg_ctl("stop", "-w", "-m", "fast")
    try:
        status, headers, body = coordinator.request("GET", "/api/tracers")
        assert status == 200
        assert 'node "n2" is unavailable' in headers["mnemic-warning"]
        status, headers, body = coordinator.request("GET", "/api/runs?tracer=web-coord")
        assert status == 200 and 'node "n2" is unavailable' in headers["mnemic-warning"]
        listed = [r["run"] for r in json.loads(body)["runs"]]
        assert runs["legacy"] in listed and runs["sine"] not in listed
        status, _, body = coordinator.request("GET", "/api/runs/%s" % runs["sine"])
        assert status == 503 and "n2" in json.loads(body)["error"]["message"]
    finally:
        n2.pg_ctl("start", "-w", "-t", "60", "-l", n2.logfile, "-o", "-k %s" % n2.dir)
    status, headers, body = coordinator.request("GET", "/api/runs?tracer=web-coord")
    assert status == 200 and "mnemic-warning" not in headers
    assert runs["sine"] in [r["run"] for r in json.loads(body)["runs"]]


def metric(web, name):
    status, _, body = web.request("GET", "/metrics")
    assert status == 200
    lines = [l for l in body.decode().splitlines() if l.startswith(name + " ")]
    return float(lines[0].split()[1]) if lines else None


def test_metrics_add_up_the_nodes_listeners(webs):
    coordinator, on_node = webs
    assert metric(coordinator, "mnemic_web_database_up") == 1
    name = "mnemic_listener_samples_stored_total"
    per_node = [metric(w, name) for w in on_node.values()]
    assert per_node[0] > 0 and metric(coordinator, name) == sum(per_node)
