"""The listing at fleet scale: /api/tracers and /api/runs with filters,
pages and changed_since, against what plain SQL over the tables says, and
dolon 0.2.0's /tracers with its bound."""
import json
import urllib.parse
import uuid as uuidlib

import pytest

import webserver

FLEET = "fleet-listing"
FLEET_RUNS = 250
HOSTILE = ["'; DROP TABLE mnemic.run; --", "%", "_", "<script>alert(1)</script>",
           "naïve ✓ 日本", "a\\b\"c", "host-1' OR '1'='1"]


def q(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None},
                                  doseq=True)


def assert_error(web, path, status):
    got, headers, body = web.request("GET", path)
    assert got == status, (path, got, body[:300])
    assert headers["content-type"].startswith("application/json")
    message = json.loads(body)["error"]["message"]
    assert message
    return message


@pytest.fixture(scope="module")
def fleet(cluster, data):
    """FLEET_RUNS runs of one tracer, made in the table (as the benchmark
    loads them): two start in every minute, hosts and programs vary, every
    10th is active (last seen an hour ahead, so that it stays active however
    long the tests take), every 10th + 1 ended."""
    cluster.query("""
        INSERT INTO mnemic.tracer (name) VALUES (%s);
        INSERT INTO mnemic.run (uuid, tracer_id, protocol, first_seen, last_seen,
                                started, ended, host, pid, program)
        SELECT gen_random_uuid(), (SELECT id FROM mnemic.tracer WHERE name = %s),
               'v1', s, CASE WHEN i %% 10 = 0 THEN now() + interval '1 hour'
                                ELSE s + interval '50 s' END,
               s, CASE WHEN i %% 10 = 1 THEN s + interval '50 s' END,
               'web-' || (i %% 4) || '.example', 1000 + i,
               CASE WHEN i %% 3 = 0 THEN 'worker.py' ELSE 'serve.py' END
        FROM generate_series(1, %s) i,
             LATERAL (SELECT timestamptz '2025-01-01' + (i / 2) * interval '1 min' AS s) t
    """, (FLEET, FLEET, FLEET_RUNS))
    yield FLEET
    for (run,) in cluster.query("SELECT uuid FROM mnemic.run r JOIN mnemic.tracer t"
                                " ON t.id = r.tracer_id WHERE t.name = %s", (FLEET,)):
        cluster.query("SELECT mnemic.delete_run(%s)", (run,))


def reference(cluster, where="true", params=()):
    """Run uuids of the fleet tracer in the listing's order, by plain SQL."""
    rows = cluster.query(
        "SELECT r.uuid FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id"
        " WHERE t.name = %%s AND (%s)"
        " ORDER BY coalesce(r.started, r.first_seen) DESC, r.uuid DESC" % where,
        (FLEET,) + tuple(params))
    return [r[0] for r in rows]


def walk(web, **filters):
    """Every page of the fleet tracer's runs, following next."""
    runs, pages, after = [], 0, {}
    while True:
        answer = web.get_json("/api/runs?" + q(tracer=FLEET, limit=100, **filters, **after))
        pages += 1
        runs += answer["runs"]
        assert answer["cursor"]
        if answer["next"] is None:
            return runs, pages
        assert answer["next"] == {"before": runs[-1]["started"],
                                  "before_run": runs[-1]["run"]}
        after = answer["next"]


# -- tracers -----------------------------------------------------------------------

def test_tracers_lists_counts_not_runs(web, data, fleet):
    answer = web.get_json("/api/tracers")
    assert set(answer) == {"cursor", "tracers"}
    by_name = {t["tracer"]: t for t in answer["tracers"]}
    assert by_name[FLEET]["runs"] == FLEET_RUNS
    assert by_name[FLEET]["active_runs"] == FLEET_RUNS // 10
    assert by_name["imported"]["runs"] == 2
    assert set(by_name[FLEET]) == {"tracer", "runs", "active_runs", "first_seen", "last_seen"}


def test_tracers_filters(web, data, fleet):
    names = [t["tracer"] for t in web.get_json("/api/tracers?name=LISTING")["tracers"]]
    assert names == [FLEET]
    # Run filters count only the runs they keep, and drop tracers without.
    answer = web.get_json("/api/tracers?" + q(host="web-1", program="worker"))
    assert [t["tracer"] for t in answer["tracers"]] == [FLEET]
    assert answer["tracers"][0]["runs"] == len([i for i in range(1, FLEET_RUNS + 1)
                                                if i % 4 == 1 and i % 3 == 0])
    assert web.get_json("/api/tracers?state=ended&name=" + FLEET)["tracers"][0]["runs"] == 25
    assert web.get_json("/api/tracers?name=no-such-tracer")["tracers"] == []


# -- runs: pages ----------------------------------------------------------------------

def test_runs_first_page_is_the_newest(web, fleet, cluster):
    answer = web.get_json("/api/runs?" + q(tracer=FLEET, limit=10))
    assert [r["run"] for r in answer["runs"]] == reference(cluster)[:10]
    first = answer["runs"][0]
    assert first["host"] == "web-2.example" and first["pid"] == 1250
    assert first["program"] == "serve.py" and first["state"] == "active"
    assert answer["next"]["before_run"] == answer["runs"][-1]["run"]


def test_runs_pages_walk_the_whole_listing_once(web, fleet, cluster):
    runs, pages = walk(web)
    assert pages == 3
    assert [r["run"] for r in runs] == reference(cluster)


def test_runs_default_and_largest_page(web, fleet):
    assert len(web.get_json("/api/runs?tracer=" + FLEET)["runs"]) == 100
    answer = web.get_json("/api/runs?" + q(tracer=FLEET, limit=1000))
    assert len(answer["runs"]) == FLEET_RUNS and answer["next"] is None


def test_runs_of_every_tracer_and_unnamed(web, data, fleet, cluster):
    answer = web.get_json("/api/runs?limit=5")
    assert len(answer["runs"]) == 5
    starts = [r["started"] for r in answer["runs"]]
    assert starts == sorted(starts, reverse=True)
    run = str(uuidlib.uuid4())
    cluster.query("INSERT INTO mnemic.run (uuid, protocol) VALUES (%s, 'json')", (run,))
    try:
        unnamed = web.get_json("/api/runs?unnamed=true")["runs"]
        assert run in [r["run"] for r in unnamed]
        assert all(r["tracer"] is None for r in unnamed)
    finally:
        cluster.query("SELECT mnemic.delete_run(%s)", (run,))


# -- runs: filters --------------------------------------------------------------------

@pytest.mark.parametrize("filters, where, params", [
    ({"host": "WEB-3"}, "r.host ILIKE %s", ("%web-3%",)),
    ({"program": "worker"}, "r.program LIKE %s", ("%worker%",)),
    ({"state": "active"}, "r.ended IS NULL AND r.last_seen > now() - interval '10 s'", ()),
    ({"state": "ended"}, "r.ended IS NOT NULL", ()),
    ({"state": "silent"}, "r.ended IS NULL AND r.last_seen < now() - interval '10 s'", ()),
    ({"from": "2025-01-01T00:30:00Z", "to": "2025-01-01T00:40:00Z"},
     "r.started <= '2025-01-01 00:40+00' AND coalesce(r.ended, r.last_seen) >= '2025-01-01 00:30+00'",
     ()),
    # epoch seconds work as well
    ({"to": "1735689900"}, "r.started <= '2025-01-01 00:05+00'", ()),
    ({"host": "web-1", "program": "serve", "state": "silent"},
     "r.host LIKE '%%web-1%%' AND r.program LIKE '%%serve%%' AND r.ended IS NULL"
     " AND r.last_seen < now() - interval '10 s'", ()),
])
def test_runs_filters_agree_with_sql(web, fleet, cluster, filters, where, params):
    runs, _ = walk(web, **filters)
    want = reference(cluster, where, params)
    assert want, "the filter keeps some runs"
    assert [r["run"] for r in runs] == want


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_text_to_look_for(web, fleet, value):
    for name in ("host", "program"):
        answer = web.get_json("/api/runs?" + q(tracer=FLEET, **{name: value}))
        assert answer["runs"] == [], (name, value)
    assert web.get_json("/api/tracers?" + q(name=value))["tracers"] == []
    assert web.get_json("/api/tracers?" + q(name=FLEET, host=value))["tracers"] == []


def test_hostile_tracer_name_lists_its_runs(web, data):
    from conftest import HOSTILE_TRACER
    answer = web.get_json("/api/runs?" + q(tracer=HOSTILE_TRACER))
    assert [r["run"] for r in answer["runs"]] == [data.hostile]
    status, _, body = web.request("GET", "/api/runs?" + q(tracer=HOSTILE_TRACER))
    assert b"<img" not in body


@pytest.mark.parametrize("query, status", [
    ({"tracer": "no-such-tracer"}, 404),
    ({"state": "running"}, 400),
    ({"state": "ACTIVE"}, 400),
    ({"limit": "0"}, 400),
    ({"limit": "1001"}, 400),
    ({"limit": "ten"}, 400),
    ({"limit": "-5"}, 400),
    ({"from": "yesterday"}, 400),
    ({"from": "2025-01-02", "to": "2025-01-01"}, 400),
    ({"before": "2025-01-01", "before_run": "not-a-uuid"}, 400),
    ({"before_run": "00000000-0000-4000-8000-000000000000"}, 400),
    ({"before": "'; DROP TABLE mnemic.run; --"}, 400),
    ({"changed_since": "yesterday"}, 400),
    ({"changed_since": "1:2:3"}, 400),
    ({"changed_since": "99999999999:0"}, 400),
    ({"unnamed": "maybe"}, 400),
    ({"unnamed": "true", "tracer": FLEET}, 400),
    ({"host": "x" * 1025}, 400),
    ({"tracer": "x" * 5000}, 400),
])
def test_bad_listing_parameters_get_clear_errors(web, fleet, query, status):
    assert_error(web, "/api/runs?" + q(**query), status)


@pytest.mark.parametrize("query", [{"state": "nope"}, {"changed_since": "x"},
                                   {"from": "soon"}, {"name": "y" * 2000}])
def test_bad_tracers_parameters_get_clear_errors(web, query):
    assert_error(web, "/api/tracers?" + q(**query), 400)


# -- changed_since ------------------------------------------------------------------------

def test_idle_refresh_carries_nothing(web, fleet):
    # (Scoped to the fleet tracer: runs of other tests may stop being
    # active meanwhile, which is a change.)
    cursor = web.get_json("/api/tracers")["cursor"]
    status, _, body = web.request("GET", "/api/tracers?" + q(name=FLEET, changed_since=cursor))
    answer = json.loads(body)
    assert status == 200 and answer["tracers"] == []
    assert len(body) < 100, body
    runs = web.get_json("/api/runs?" + q(tracer=FLEET, changed_since=cursor))
    assert runs["runs"] == [] and runs["next"] is None


def test_refresh_carries_only_the_changed(web, data, fleet, cluster):
    cursor = web.get_json("/api/tracers")["cursor"]
    # Through the store, as the listener writes: a point for an old run of
    # the fleet tracer (at an old time: it stays silent), and a run of a
    # new tracer.
    old = reference(cluster)[-1]
    cluster.query("SELECT mnemic.import_series(%s, %s, 'cpu',"
                  " ARRAY[timestamptz '2025-01-01 00:00:10+00'], ARRAY[1.0])", (FLEET, old))
    new = webserver.import_run(cluster, "fleet-listing-new", {"x": float}, 1735689600, 3)
    try:
        changed = web.get_json("/api/tracers?" + q(name="fleet-listing", changed_since=cursor))
        assert sorted(t["tracer"] for t in changed["tracers"]) == [FLEET, "fleet-listing-new"]
        assert changed["cursor"] != cursor
        for tracer, run in ((FLEET, old), ("fleet-listing-new", new)):
            runs = web.get_json("/api/runs?" + q(tracer=tracer, changed_since=cursor))
            assert [r["run"] for r in runs["runs"]] == [run]
        everywhere = [r["run"] for r in web.get_json(
            "/api/runs?" + q(changed_since=cursor))["runs"]]
        assert old in everywhere and new in everywhere
        # Filters apply to changes too.
        assert web.get_json("/api/runs?" + q(tracer=FLEET, changed_since=cursor,
                                             host="nowhere"))["runs"] == []
        # From the new cursor, nothing has changed.
        later = changed["cursor"]
        assert web.get_json("/api/tracers?" + q(name="fleet-listing",
                                                changed_since=later))["tracers"] == []
        # A deleted run shows as its tracer's lower count.
        cluster.query("SELECT mnemic.delete_run(%s)", (new,))
        gone = web.get_json("/api/tracers?" + q(name="fleet-listing", changed_since=later))
        assert [(t["tracer"], t["runs"]) for t in gone["tracers"]] == [("fleet-listing-new", 0)]
    finally:
        cluster.query("SELECT mnemic.delete_run(%s)", (new,))


# -- dolon 0.2.0's /tracers --------------------------------------------------------------

def test_legacy_tracers_keeps_its_shape_and_a_bound(web, data, fleet, cluster):
    tree = web.get_json("/tracers")
    by_name = {t["tracer_name"]: t["runs"] for t in tree}
    assert set(tree[0]) == {"tracer_name", "runs"}
    fleet_runs = by_name[FLEET]
    assert len(fleet_runs) == 100, "each tracer's newest 100 runs"
    assert [r["uuid"] for r in fleet_runs] == reference(cluster)[:100]
    assert set(fleet_runs[0]) == {"creation_time", "uuid"}
    assert fleet_runs[0]["creation_time"] == "2025-01-01 02:05:00"
    assert [r["uuid"] for r in by_name["imported"]] == [data.sine, data.older]
