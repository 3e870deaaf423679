"""The profile endpoints against real ingested profiles: each answer is
compared with the mnemic.* function it calls, asked directly."""
import gzip
import json
import os
import sys
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import profiles  # noqa: E402
from webserver import WebServer  # noqa: E402

UNKNOWN = "00000000-0000-4000-8000-000000000000"
T0 = profiles.START_US / 1e6
HOSTILE_FUNCTIONS = ["<img src=x onerror=alert(1)>", 'quote"d\';--', "naïve ✓ ünïcödé",
                     "back\\slash", "</script><script>alert(2)</script>"]
HOSTILE_FILE = "<b>dir</b>/\"x\".py"
IMPORT_TOKEN = "imp0rt-token"


def q(**params):
    return urllib.parse.urlencode(params, doseq=True)


def error_of(web, method, path, status, headers=None, body=None):
    conn = web.connection()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    assert resp.status == status, (path, resp.status, raw[:300])
    assert resp.getheader("content-type").startswith("application/json")
    err = json.loads(raw)["error"]
    assert err["status"] == status and err["message"]
    return err["message"]


def post(web, path, body, headers=None):
    conn = web.connection()
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def rows_of(answer, diff=False):
    """An answer's nodes as the function's rows: (node, parent, depth,
    function, file, line, self, total[, base_self, base_total])."""
    names = answer["names"]
    out = []
    for i in range(answer["nodes"]):
        row = (i, None if answer["parent"][i] < 0 else answer["parent"][i], answer["depth"][i],
               names[answer["function"][i]],
               None if answer["file"][i] < 0 else names[answer["file"][i]],
               answer["line"][i], answer["self"][i], answer["total"][i])
        if diff:
            row += (answer["base_self"][i], answer["base_total"][i])
        out.append(row)
    return out


class Runs:
    pass


@pytest.fixture(scope="module")
def runs(cluster):
    r = Runs()
    r.shop = profiles.shop_worker("shop-worker").ingest(cluster)
    r.shop_short = profiles.shop_worker("shop-worker", seconds=20).ingest(cluster)

    hostile = profiles.Profile("<img src=x onerror=alert(1)>")
    t = hostile.thread("thread <\"&'>")
    for i, name in enumerate(HOSTILE_FUNCTIONS * 4):
        hostile.sample(t, i * 10000, [("main", HOSTILE_FILE, 1), (name, HOSTILE_FILE, 7)])
        hostile.alloc(t, i * 10000 + 1, [("main", HOSTILE_FILE, 1), (name, HOSTILE_FILE, 7)],
                      "<dict>", 100 * (i + 1))
    r.hostile = hostile.ingest(cluster)

    # 20,000 distinct leaves of different widths under 100 callers.
    big = profiles.Profile("big-tree")
    t = big.thread("MainThread")
    n = 0
    for caller in range(100):
        for leaf in range(200):
            for _ in range(1 + (leaf * 7 + caller) % 5):
                big.sample(t, n * 1000, [("main", "big.py", 1), ("caller_%d" % caller, "big.py", 10),
                                         ("leaf_%d_%d" % (caller, leaf), "leaf.py", 100)], 1000)
                n += 1
    r.big = big.ingest(cluster)

    # A run with series only: no profile samples.
    plain = profiles.Profile("no-profile")
    plain.thread("MainThread")
    plain.last_us = 3_000_000
    r.plain = plain.ingest(cluster)
    return r


@pytest.fixture(scope="module")
def importer(cluster, runs):
    """A server that may import: a token, and a role that may run
    mnemic.import_profile() (the extension's owner; roles.sql grants it
    to no role)."""
    with WebServer(cluster.uri(), token=IMPORT_TOKEN) as w:
        yield w


# -- flame graph --------------------------------------------------------------

def test_flamegraph_is_the_function_rows(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/flamegraph" % runs.shop)
    rows = cluster.query("SELECT * FROM mnemic.flamegraph(%s)", (runs.shop,))
    assert rows_of(answer) == [tuple(r) for r in rows]
    assert answer["weight"] == "cpu" and answer["unit"] == "seconds"
    assert answer["left_out"] == 0
    assert answer["total"][0] == 48 and rows_of(answer)[5][3] == "Cart.total"
    # Each name is written once.
    assert len(answer["names"]) == len(set(answer["names"]))


@pytest.mark.parametrize("weight,unit", [("cpu", "seconds"), ("wall", "seconds"),
                                         ("samples", "samples"), ("alloc", "bytes"),
                                         ("inuse", "bytes")])
def test_flamegraph_weights(web, cluster, runs, weight, unit):
    answer = web.get_json("/api/runs/%s/flamegraph?weight=%s" % (runs.shop, weight))
    rows = cluster.query("SELECT * FROM mnemic.flamegraph(%s, weight => %s)", (runs.shop, weight))
    assert answer["unit"] == unit
    assert rows_of(answer) == [tuple(r) for r in rows]


def test_flamegraph_window_epoch_or_iso(web, cluster, runs):
    half = web.get_json("/api/runs/%s/flamegraph?%s" % (
        runs.shop, q(weight="wall", **{"from": T0, "to": T0 + 29.999999})))
    iso = web.get_json("/api/runs/%s/flamegraph?%s" % (
        runs.shop, q(weight="wall", **{"from": "2026-03-02T10:00:00Z",
                                        "to": "2026-03-02T10:00:29.999999Z"})))
    rows = cluster.query("SELECT * FROM mnemic.flamegraph(%s, '2026-03-02 10:00:00+00', "
                         "'2026-03-02 10:00:29.999999+00', 'wall')", (runs.shop,))
    assert rows_of(half) == rows_of(iso) == [tuple(r) for r in rows]
    assert half["total"][0] == 60.0     # two threads, 30 s each


def test_flamegraph_thread(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/flamegraph?%s" % (runs.shop, q(weight="wall", thread="worker")))
    assert answer["total"][0] == 60.0
    assert web.get_json("/api/runs/%s/flamegraph?%s" % (
        runs.hostile, q(thread="thread <\"&'>")))["total"][0] > 0


def test_flamegraph_bad_parameters(web, runs):
    base = "/api/runs/%s/flamegraph?" % runs.shop
    assert "weight" in error_of(web, "GET", base + "weight=bytes", 400)
    assert error_of(web, "GET", base + "from=yesterday", 400)
    assert error_of(web, "GET", base + q(**{"from": T0 + 10, "to": T0}), 400)
    assert error_of(web, "GET", base + "max_nodes=0", 400)
    assert error_of(web, "GET", base + "max_nodes=2000000", 400)
    assert error_of(web, "GET", base + "max_nodes=12abc", 400)
    assert "thread" in error_of(web, "GET", base + q(thread="nobody'; --"), 404)
    assert error_of(web, "GET", base + q(thread="x" * 5000), 400)
    assert error_of(web, "GET", "/api/runs/%s/flamegraph" % UNKNOWN, 404)
    assert error_of(web, "GET", "/api/runs/not-a-run/flamegraph", 400)
    assert error_of(web, "POST", "/api/runs/%s/flamegraph" % runs.shop, 405)


def test_flamegraph_of_a_run_without_profile(web, runs):
    answer = web.get_json("/api/runs/%s/flamegraph" % runs.plain)
    assert answer["nodes"] == 1 and answer["total"] == [0]


def test_hostile_names_come_back_exactly_and_escaped(web, runs):
    status, headers, body = web.request("GET", "/api/runs/%s/flamegraph" % runs.hostile)
    assert status == 200
    assert b"<" not in body and b">" not in body, "escaped for HTML as well"
    answer = json.loads(body)
    functions = {answer["names"][f] for f in answer["function"]}
    assert set(HOSTILE_FUNCTIONS) <= functions
    assert HOSTILE_FILE in answer["names"]


def test_huge_tree_whole_and_cut_to_the_widest(web, cluster, runs):
    whole = web.get_json("/api/runs/%s/flamegraph?weight=samples" % runs.big)
    assert whole["nodes"] == 1 + 1 + 100 + 20000 and whole["left_out"] == 0
    rows = cluster.query("SELECT * FROM mnemic.flamegraph(%s, weight => 'samples')", (runs.big,))
    assert rows_of(whole) == [tuple(r) for r in rows]

    cut = web.get_json("/api/runs/%s/flamegraph?weight=samples&max_nodes=5000" % runs.big)
    assert cut["nodes"] == 5000 and cut["left_out"] == len(rows) - 5000
    kept = rows_of(cut)
    # Every kept node's parent is kept, and nothing left out is wider
    # than what was kept.
    assert all(p is None or p < i for i, p in ((r[0], r[1]) for r in kept))
    kept_keys = {(r[3], r[4], r[5], r[2]) for r in kept}
    left_out = [r[7] for r in rows if (r[3], r[4], r[5], r[2]) not in kept_keys]
    assert len(left_out) == len(rows) - 5000
    assert max(left_out) <= min(r[7] for r in kept)
    assert kept[0][7] == whole["total"][0], "the root keeps its whole width"


# -- diff --------------------------------------------------------------------

def test_diff_against_another_run(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/flamegraph/diff?%s" % (runs.shop, q(base=runs.shop_short)))
    rows = cluster.query(
        "SELECT node, parent, depth, function, file, line, self_b, total_b, self_a, total_a "
        "FROM mnemic.flamegraph_diff(%s, NULL, NULL, %s, NULL, NULL)", (runs.shop_short, runs.shop))
    assert rows_of(answer, diff=True) == [tuple(r) for r in rows]
    assert answer["base"]["run"] == runs.shop_short and answer["run"] == runs.shop


def test_diff_of_two_windows_shows_what_grew(web, runs):
    answer = web.get_json("/api/runs/%s/flamegraph/diff?%s" % (runs.shop, q(**{
        "from": T0 + 30, "base_from": T0, "base_to": T0 + 29.999999})))
    rows = rows_of(answer, diff=True)
    cart = [r for r in rows if r[3] == "Cart.total"][0]
    root = rows[0]
    # Cart.total: 9 s of 19.5 before, 18 s of 28.5 after.
    assert (cart[8], cart[6]) == (9, 18)
    assert cart[6] / root[7] > cart[8] / root[9]


def test_diff_bad_parameters(web, runs):
    base = "/api/runs/%s/flamegraph/diff?" % runs.shop
    assert "base" in error_of(web, "GET", base, 400)
    assert error_of(web, "GET", base + q(base="nope"), 400)
    assert error_of(web, "GET", base + q(base=UNKNOWN), 404)
    assert error_of(web, "GET", base + q(base=runs.shop_short, weight="kg"), 400)
    assert error_of(web, "GET", base + q(base=runs.shop_short, base_from="soon"), 400)


# -- top functions -------------------------------------------------------------

def test_top_functions(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/top?n=4" % runs.shop)
    rows = cluster.query("SELECT * FROM mnemic.top_functions(%s, n => 4)", (runs.shop,))
    got = [(f["function"], f["file"], f["line"], f["self"], f["total"]) for f in answer["functions"]]
    assert got == [tuple(r) for r in rows]
    assert got[0][0] == "Cart.total"
    alloc = web.get_json("/api/runs/%s/top?weight=alloc&n=1" % runs.shop)
    assert alloc["unit"] == "bytes" and alloc["functions"][0]["function"] == "render_invoice"


def test_top_functions_of_a_thread(web, cluster, runs):
    path = "/api/runs/%s/top?%s" % (runs.shop, q(weight="wall", n=100, thread="worker"))
    answer = web.get_json(path)
    rows = cluster.query("SELECT * FROM mnemic.top_functions(%s, weight => 'wall', n => 100,"
                         " thread => 'worker')", (runs.shop,))
    got = [(f["function"], f["file"], f["line"], f["self"], f["total"]) for f in answer["functions"]]
    assert answer["thread"] == "worker" and got == [tuple(r) for r in rows]
    everyone = web.get_json("/api/runs/%s/top?%s" % (runs.shop, q(weight="wall", n=100)))
    assert sum(f["self"] for f in answer["functions"]) < \
        sum(f["self"] for f in everyone["functions"])
    assert "no thread" in error_of(web, "GET", "/api/runs/%s/top?%s" % (
        runs.shop, q(thread="no such thread")), 404)


def test_threads(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/threads" % runs.shop)
    rows = cluster.query("SELECT thread, samples, cpu_seconds, wall_seconds"
                         " FROM mnemic.threads(%s)", (runs.shop,))
    got = [(t["thread"], t["samples"], t["cpu_seconds"], t["wall_seconds"]) for t in answer["threads"]]
    assert got == [tuple(r) for r in rows]
    assert {t["thread"] for t in answer["threads"]} == {"MainThread", "worker"}
    assert all(isinstance(i, int) for t in answer["threads"] for i in t["native_ids"])
    # each thread's samples are what its flame graph counts
    for t in answer["threads"]:
        tree = web.get_json("/api/runs/%s/flamegraph?%s" % (runs.shop, q(weight="samples", thread=t["thread"])))
        assert tree["total"][0] == t["samples"]
    # a window counts fewer
    window = web.get_json("/api/runs/%s/threads?%s" % (runs.shop, q(**{"from": T0, "to": T0 + 10})))
    assert 0 < sum(t["samples"] for t in window["threads"]) < sum(t["samples"] for t in answer["threads"])
    # the names come back exactly, escaped
    hostile = web.get_json("/api/runs/%s/threads" % runs.hostile)
    assert [t["thread"] for t in hostile["threads"]] == ["thread <\"&'>"]
    assert web.get_json("/api/runs/%s/threads" % runs.plain)["threads"][0]["samples"] == 0
    assert error_of(web, "GET", "/api/runs/%s/threads" % UNKNOWN, 404)
    assert error_of(web, "GET", "/api/runs/%s/threads?from=yesterday" % runs.shop, 400)


def test_top_functions_bad_parameters(web, runs):
    base = "/api/runs/%s/top?" % runs.shop
    for n in ("0", "1001", "-1", "ten"):
        assert error_of(web, "GET", base + "n=" + n, 400)
    assert error_of(web, "GET", "/api/runs/%s/top" % UNKNOWN, 404)


# -- stack at a moment -----------------------------------------------------------

def test_stack_at(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/stack?at=%s" % (runs.shop, T0 + 30.021))
    assert answer["thread"] == "MainThread"
    assert abs(answer["sampled_at"] - (T0 + 30.02)) < 1e-6
    assert answer["rss_bytes"] == 103_002_000
    assert [f["function"] for f in answer["frames"]] == [
        "<module>", "main", "handle_order", "Cart.total"]
    assert answer["frames"][-1] == {"function": "Cart.total", "file": "shop/cart.py", "line": 13}
    worker = web.get_json("/api/runs/%s/stack?%s" % (runs.shop, q(at=T0 + 30.021, thread="worker")))
    assert worker["thread"] == "worker"


def test_stack_at_without_samples_is_empty(web, runs):
    answer = web.get_json("/api/runs/%s/stack?at=%s" % (runs.plain, T0))
    assert answer["frames"] == [] and answer["sampled_at"] is None


def test_stack_at_bad_parameters(web, runs):
    assert "at" in error_of(web, "GET", "/api/runs/%s/stack" % runs.shop, 400)
    assert error_of(web, "GET", "/api/runs/%s/stack?at=noon" % runs.shop, 400)
    assert error_of(web, "GET", "/api/runs/%s/stack?at=%s" % (UNKNOWN, T0), 404)


# -- allocations ---------------------------------------------------------------

def test_allocations_by_type(web, cluster, runs):
    answer = web.get_json("/api/runs/%s/allocations?weight=inuse" % runs.shop)
    assert [(t["type"], t["bytes"], t["count"]) for t in answer["types"]] == [
        ("bytes", 157286400, 300), ("dict", 39321600, 600), ("list", 4915200, 600)]
    one = web.get_json("/api/runs/%s/allocations?%s" % (runs.shop, q(function="Cart.total")))
    assert [(t["type"], t["count"]) for t in one["types"]] == [("dict", 600)]
    assert one["function"] == "Cart.total" and one["weight"] == "alloc"


def test_allocations_of_a_hostile_function(web, runs):
    name = HOSTILE_FUNCTIONS[0]
    answer = web.get_json("/api/runs/%s/allocations?%s" % (runs.hostile, q(function=name)))
    assert answer["function"] == name
    assert [t["type"] for t in answer["types"]] == ["<dict>"]
    assert answer["types"][0]["count"] == 4


def test_allocations_bad_parameters(web, runs):
    base = "/api/runs/%s/allocations?" % runs.shop
    assert "alloc" in error_of(web, "GET", base + "weight=cpu", 400)
    assert error_of(web, "GET", base + q(function="f" * 5000), 400)
    assert error_of(web, "GET", "/api/runs/%s/allocations" % UNKNOWN, 404)


# -- export --------------------------------------------------------------------

def test_export_collapsed(web, cluster, runs):
    status, headers, body = web.request("GET", "/api/runs/%s/profile?format=collapsed" % runs.shop)
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-disposition"] == \
        'attachment; filename="mnemic-%s-cpu.collapsed.txt"' % runs.shop
    expected = cluster.query("SELECT mnemic.export_profile(%s, format => 'collapsed')",
                             (runs.shop,))[0][0]
    assert body == bytes(expected)
    assert b"Cart.total (shop/cart.py:13) 27000000\n" in body


def test_export_collapsed_window_and_weight(web, cluster, runs):
    path = "/api/runs/%s/profile?%s" % (runs.shop, q(format="collapsed", weight="alloc",
                                                     **{"from": T0, "to": T0 + 10}))
    status, headers, body = web.request("GET", path)
    assert status == 200 and "-alloc.collapsed.txt" in headers["content-disposition"]
    expected = cluster.query(
        "SELECT mnemic.export_profile(%s, to_timestamp(%s), to_timestamp(%s), 'collapsed', 'alloc')",
        (runs.shop, T0, T0 + 10))[0][0]
    assert body == bytes(expected)


@pytest.mark.parametrize("fmt,content_type,ext", [
    ("speedscope", "application/json", "speedscope.json"),
    ("pprof", "application/octet-stream", "pb.gz")])
def test_export_other_formats(web, runs, fmt, content_type, ext):
    status, headers, body = web.request("GET", "/api/runs/%s/profile?format=%s" % (runs.shop, fmt))
    if status == 501:
        pytest.skip("the server does not write %s yet: %s" % (fmt, json.loads(body)["error"]["message"]))
    assert status == 200, body[:300]
    assert headers["content-type"] == content_type
    assert headers["content-disposition"].endswith('-cpu.%s"' % ext)
    if fmt == "speedscope":
        assert "speedscope" in json.loads(body)["$schema"]
    else:
        assert body[:2] == b"\x1f\x8b" and len(gzip.decompress(body)) > 0


def test_export_bad_parameters(web, runs):
    base = "/api/runs/%s/profile?" % runs.shop
    assert "format" in error_of(web, "GET", base + "format=svg", 400)
    assert error_of(web, "GET", base + "format=collapsed&weight=joules", 400)
    assert error_of(web, "GET", "/api/runs/%s/profile?format=collapsed" % UNKNOWN, 404)


def test_export_hostile_names(web, runs):
    status, headers, body = web.request("GET", "/api/runs/%s/profile?format=collapsed" % runs.hostile)
    assert status == 200 and headers["x-content-type-options"] == "nosniff"
    assert HOSTILE_FUNCTIONS[0].encode() in body


# -- import --------------------------------------------------------------------

COLLAPSED = (b"main (job.py:3);load (job.py:20) 30\n"
             b"main (job.py:3);load (job.py:20);parse (job.py:41) 50\n"
             b"main (job.py:3);save (job.py:60) 20\n")


def test_import_collapsed_appears_as_a_run(importer, cluster):
    status, answer = post(importer, "/api/import?tracer=batch-job", COLLAPSED,
                          {"X-Mnemic-Token": IMPORT_TOKEN})
    assert status == 201, answer
    assert answer["format"] == "collapsed" and answer["tracer"] == "batch-job"
    runs = [r["run"] for r in importer.get_json("/api/runs?tracer=batch-job")["runs"]]
    assert answer["run"] in runs
    graph = importer.get_json("/api/runs/%s/flamegraph?weight=samples" % answer["run"])
    got = {(r[3], r[7]) for r in rows_of(graph)}
    assert got == {("all", 100), ("main", 100), ("load", 80), ("parse", 50), ("save", 20)}


def test_import_gzipped_with_hostile_tracer(importer):
    tracer = "<img src=x onerror=alert(1)> ünï"
    status, answer = post(importer, "/api/import?" + q(tracer=tracer), gzip.compress(COLLAPSED),
                          {"X-Mnemic-Token": IMPORT_TOKEN, "Content-Type": "application/gzip"})
    assert status == 201 and answer["format"] == "collapsed" and answer["tracer"] == tracer
    info = importer.get_json("/api/runs/" + answer["run"])
    assert info["tracer"] == tracer and info["stack_samples"] > 0


def test_import_named_format(importer):
    status, answer = post(importer, "/api/import?tracer=named&format=collapsed", COLLAPSED,
                          {"X-Mnemic-Token": IMPORT_TOKEN})
    assert status == 201 and answer["format"] == "collapsed"


def test_import_malformed_file_names_the_line(importer):
    message = error_of(importer, "POST", "/api/import?tracer=bad&format=collapsed", 400,
                       {"X-Mnemic-Token": IMPORT_TOKEN}, b"main;load 10\nmain;save ten\n")
    assert message.startswith("read as collapsed:") and "2" in message


@pytest.mark.parametrize("body,fmt", [
    (b"\0" * 8 + b"\3" + b"\0" * 7 + b"\0" * 8 + b"\x10\x27" + b"\0" * 30, "vmprof"),
    (b'  {"$schema": "https://www.speedscope.app/file-format-schema.json", "profiles": []}',
     "speedscope"),
    (gzip.compress(b"\x0a\x04\x08\x01\x10\x02\x12\x06\x08\x01\x10\x02"), "pprof")])
def test_import_detects_the_format(importer, body, fmt):
    """The format is told from the content; a reader not written yet
    answers 501, a file it finds wrong 400, and the message says which
    format the file was read as."""
    conn = importer.connection()
    conn.request("POST", "/api/import?tracer=detect", body=body, headers={"X-Mnemic-Token": IMPORT_TOKEN})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    conn.close()
    if resp.status == 201:
        assert answer["format"] == fmt
    else:
        assert resp.status in (400, 501), answer
        assert answer["error"]["message"].startswith("read as %s:" % fmt)


def test_import_refusals(importer, web, runs):
    token = {"X-Mnemic-Token": IMPORT_TOKEN}
    assert "--token" in error_of(web, "POST", "/api/import?tracer=x", 403, token, COLLAPSED)
    error_of(importer, "POST", "/api/import?tracer=x", 401, {}, COLLAPSED)
    error_of(importer, "POST", "/api/import?tracer=x", 401, {"X-Mnemic-Token": "wrong"}, COLLAPSED)
    assert "tracer" in error_of(importer, "POST", "/api/import", 400, token, COLLAPSED)
    assert "empty" in error_of(importer, "POST", "/api/import?tracer=x", 400, token, b"")
    assert "format" in error_of(importer, "POST", "/api/import?tracer=x&format=xls", 400, token,
                                COLLAPSED)
    assert error_of(importer, "POST", "/api/import?tracer=x", 415, token, b"\x00\x01\x02garbage")
    assert error_of(importer, "POST", "/api/import?tracer=x", 415, token, b'{"not": "a profile"}')
    assert "body" in error_of(importer, "POST", "/api/import?tracer=x", 415,
                              dict(token, **{"Content-Type": "multipart/form-data; boundary=z"}),
                              b"--z\r\n\r\nmain 1\r\n--z--\r\n")
    assert error_of(importer, "POST", "/api/import?" + q(tracer="t" * 2000), 400, token, COLLAPSED)
    assert error_of(importer, "GET", "/api/import?tracer=x", 405)


def test_import_too_large_is_refused_before_reading(importer):
    conn = importer.connection()
    try:
        conn.putrequest("POST", "/api/import?tracer=huge")
        conn.putheader("X-Mnemic-Token", IMPORT_TOKEN)
        conn.putheader("Content-Length", str(300 * 1024 * 1024))
        conn.endheaders()
        conn.send(b"main 1\n")
        resp = conn.getresponse()
        assert resp.status == 413
        assert "256 MB" in json.loads(resp.read())["error"]["message"]
    finally:
        conn.close()


def test_import_needs_a_role_that_may(cluster, runs):
    """A reader with the token still cannot write: the database says no."""
    import webserver
    with WebServer(cluster.uri(user=webserver.reader_role(cluster)), token=IMPORT_TOKEN) as w:
        assert "permission" in error_of(w, "POST", "/api/import?tracer=x", 403,
                                        {"X-Mnemic-Token": IMPORT_TOKEN}, COLLAPSED)
