"""mnemic-web's JSON API against a real cluster with data that arrived over
UDP or through mnemic.import_series()."""
import csv
import io
import json
import math
import urllib.parse

import pytest

from conftest import HOSTILE_METRICS, HOSTILE_TRACER, IMPORT_POINTS, IMPORT_START

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def q(**params):
    return urllib.parse.urlencode(params, doseq=True)


def assert_json_error(web, method, path, status, headers=None):
    got, hdrs, body = web.request(method, path, headers)
    assert got == status, (path, got, body[:300])
    assert hdrs["content-type"].startswith("application/json"), hdrs
    err = json.loads(body)["error"]
    assert err["status"] == status and err["message"]
    return err["message"]


# -- health, metrics, plumbing -------------------------------------------------

def test_healthz(web):
    assert web.get_json("/healthz") == {"status": "ok", "database": "ok"}


def test_prometheus_metrics(web, data):
    web.get_json("/api/tracers")
    status, headers, body = web.request("GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert "mnemic_web_database_up 1" in text
    # The listener received the UDP datagrams sent for the fixtures.
    line = [l for l in text.splitlines()
            if l.startswith("mnemic_listener_datagrams_received_total ")][0]
    assert float(line.split()[1]) >= 22
    # drop counters of signed ingest; the number of keys is a gauge
    assert "# TYPE mnemic_listener_bad_auth_total counter" in text
    assert "# TYPE mnemic_listener_ingest_keys gauge" in text
    assert 'mnemic_web_requests_total{route="tracers",code="2xx"}' in text
    assert 'mnemic_web_request_duration_seconds_bucket{route="tracers",le="+Inf"}' in text


def test_method_not_allowed(web):
    assert_json_error(web, "POST", "/api/tracers", 405)
    assert_json_error(web, "PUT", "/api/runs/" + UNKNOWN, 405)


def test_unknown_api_path(web):
    assert_json_error(web, "GET", "/api/nothing-here", 404)


def test_static_files_and_no_listing(web):
    status, headers, body = web.request("GET", "/")
    assert status == 200 and b'<script type="module" src="app.js">' in body
    status, _, _ = web.request("GET", "/vendor/uPlot.esm.js")
    assert status == 200
    status, _, body = web.request("GET", "/vendor/")
    assert status in (403, 404) and b"uPlot.esm.js" not in body
    status, _, body = web.request("GET", "/../Makefile")
    assert status in (400, 403, 404) and b"check-api" not in body
    status, _, body = web.request("GET", "/%2e%2e/Makefile")
    assert status in (400, 403, 404) and b"check-api" not in body


# -- tree and runs ---------------------------------------------------------------

def test_tracers_and_their_runs(web, data):
    tracers = {t["tracer"]: t for t in web.get_json("/api/tracers")["tracers"]}
    assert tracers["web-api-test"]["runs"] == 1
    runs = web.get_json("/api/runs?tracer=web-api-test")["runs"]
    assert [r["run"] for r in runs] == [data.legacy]
    assert runs[0]["samples"] == 40
    imported = [r["run"] for r in web.get_json("/api/runs?tracer=imported")["runs"]]
    assert imported == [data.sine, data.older], "newest run first"


def test_run_info(web, data):
    info = web.get_json("/api/runs/" + data.legacy)
    assert info["run"] == data.legacy
    assert info["tracer"] == "web-api-test"
    assert info["samples"] == 40
    assert info["metrics"] == 2
    assert isinstance(info["duration"], (int, float))
    assert info["last_seen"].endswith("Z")


def test_run_info_unknown_and_bad_uuid(web):
    assert_json_error(web, "GET", "/api/runs/" + UNKNOWN, 404)
    assert_json_error(web, "GET", "/api/runs/not-a-uuid", 400)
    assert_json_error(web, "GET", "/api/runs/" + UNKNOWN[:-1] + "g", 400)
    assert_json_error(web, "GET", "/api/runs/'%3B%20DROP%20TABLE%20mnemic.run%3B--", 400)
    assert_json_error(web, "GET", "/api/runs/" + UNKNOWN + "/nonsense", 404)


def test_metrics(web, data):
    metrics = web.get_json("/api/runs/%s/metrics" % data.legacy)
    assert [m["metric"] for m in metrics] == ["cpu", "mem"]
    assert metrics[0]["points"] == 20
    assert metrics[0]["max_value"] == 19.0
    assert metrics[1]["last_value"] == 109.5


def test_metrics_unknown_run(web):
    assert_json_error(web, "GET", "/api/runs/%s/metrics" % UNKNOWN, 404)


# -- series ------------------------------------------------------------------------

def test_series_returns_what_was_sent(web, data):
    answer = web.get_json("/api/runs/%s/series?%s" % (data.legacy, q(metric=["mem", "cpu"])))
    assert [s["metric"] for s in answer["series"]] == ["mem", "cpu"]
    mem, cpu = answer["series"]
    # Rows sent in a burst arrive unevenly: series() may mark a gap (null).
    assert [v for v in cpu["value"] if v is not None] == [r[0] for r in data.legacy_rows]
    assert [v for v in mem["value"] if v is not None] == [r[1] for r in data.legacy_rows]
    assert cpu["ts"] == sorted(cpu["ts"])
    assert answer["points"] == 1000 and answer["method"] == "m4"


def test_series_all_metrics_when_none_named(web, data):
    answer = web.get_json("/api/runs/%s/series" % data.sine)
    assert [s["metric"] for s in answer["series"]] == ["sine", "ramp"]


def test_series_downsamples_to_points(web, data):
    answer = web.get_json("/api/runs/%s/series?%s" % (data.sine, q(metric="ramp", points=50)))
    ramp = answer["series"][0]
    assert 2 <= len(ramp["ts"]) <= 4 * 50
    assert ramp["value"][0] == 0.0 and ramp["value"][-1] == IMPORT_POINTS - 1


@pytest.mark.parametrize("method", ["m4", "lttb", "avg"])
def test_series_methods(web, data, method):
    answer = web.get_json("/api/runs/%s/series?%s" % (
        data.sine, q(metric="sine", points=100, method=method)))
    n = len(answer["series"][0]["ts"])
    assert 0 < n <= 400, (method, n)


def test_series_zoomed_range(web, data):
    start = IMPORT_START + 3600
    frm, to = start + 1000, start + 1100
    answer = web.get_json("/api/runs/%s/series?%s" % (
        data.sine, q(metric="ramp", points=1000, **{"from": frm, "to": to})))
    ramp = answer["series"][0]
    # Fewer points than pixels: every point of the range, and only those.
    inside = [v for t, v in zip(ramp["ts"], ramp["value"]) if frm <= t <= to]
    assert inside == [float(i) for i in range(1000, 1101)]
    assert all(frm - 2 <= t <= to + 2 for t in ramp["ts"])


def test_series_iso_times(web, data):
    answer = web.get_json("/api/runs/%s/series?%s" % (data.sine, q(
        metric="ramp", **{"from": "2024-01-01T01:00:10Z", "to": "2024-01-01T01:00:20Z"})))
    values = [v for t, v in zip(answer["series"][0]["ts"], answer["series"][0]["value"])
              if IMPORT_START + 3610 <= t <= IMPORT_START + 3620]
    assert values == [float(i) for i in range(10, 21)]


@pytest.mark.parametrize("params", [
    {"points": "0"}, {"points": "-5"}, {"points": "abc"}, {"points": "1000000000"},
    {"points": "12x"}, {"method": "bogus"}, {"method": "m4'; DROP TABLE x; --"},
    {"from": "yesterday"}, {"to": "1e999"}, {"from": "2024-13-45T99:99:99"},
    {"from": "x" * 5000},
])
def test_series_bad_parameters(web, data, params):
    params = dict(params, metric="ramp")
    assert_json_error(web, "GET", "/api/runs/%s/series?%s" % (data.sine, q(**params)), 400)


@pytest.mark.parametrize("name", ["from", "to"])
def test_series_bad_time_names_the_parameter(web, data, name):
    path = "/api/runs/%s/series?%s" % (data.sine, q(metric="ramp", **{name: "yesterday"}))
    assert assert_json_error(web, "GET", path, 400).startswith(
        name + " must be seconds since the epoch")


def test_series_too_many_metrics(web, data):
    path = "/api/runs/%s/series?%s" % (data.sine, q(metric=["m%d" % i for i in range(65)]))
    assert "at most 64" in assert_json_error(web, "GET", path, 400)


def test_series_metric_name_too_long(web, data):
    path = "/api/runs/%s/series?%s" % (data.sine, q(metric="x" * 2000))
    assert_json_error(web, "GET", path, 400)


def test_series_unknown_metric_and_run(web, data):
    assert_json_error(web, "GET", "/api/runs/%s/series?metric=nope" % data.sine, 404)
    assert_json_error(web, "GET", "/api/runs/%s/series?metric=x" % UNKNOWN, 404)


# -- tail ----------------------------------------------------------------------------

def test_tail_returns_newer_points(web, data):
    start = IMPORT_START + 3600
    since = start + IMPORT_POINTS - 11
    answer = web.get_json("/api/runs/%s/tail?since=%s" % (data.sine, since))
    by_metric = {s["metric"]: s for s in answer["series"]}
    assert by_metric["ramp"]["value"] == [float(i) for i in range(IMPORT_POINTS - 10, IMPORT_POINTS)]
    assert all(t > since for t in by_metric["ramp"]["ts"])


def test_tail_nothing_new(web, data):
    answer = web.get_json("/api/runs/%s/tail?since=%s" % (data.sine, IMPORT_START + 90000))
    assert answer["series"] == []


def test_tail_needs_since(web, data):
    assert_json_error(web, "GET", "/api/runs/%s/tail" % data.sine, 400)
    assert_json_error(web, "GET", "/api/runs/%s/tail?since=soon" % data.sine, 400)


# -- CSV -----------------------------------------------------------------------------

def test_csv_download(web, data):
    status, headers, body = web.request("GET", "/api/runs/%s.csv" % data.legacy)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == 'attachment; filename="mnemic-%s.csv"' % data.legacy
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["ts", "cpu", "mem"]
    assert len(rows) == 21
    assert [float(r[1]) for r in rows[1:]] == [r[0] for r in data.legacy_rows]


def test_csv_unknown_run(web):
    assert_json_error(web, "GET", "/api/runs/%s.csv" % UNKNOWN, 404)


# -- hostile names ---------------------------------------------------------------------

def test_hostile_names_round_trip_escaped(web, data):
    status, _, body = web.request("GET", "/api/tracers")
    assert b"<img" not in body and b"<script" not in body, "< must be \\u003c escaped"
    tracers = json.loads(body)["tracers"]
    assert HOSTILE_TRACER in [t["tracer"] for t in tracers]
    metrics = web.get_json("/api/runs/%s/metrics" % data.hostile)
    assert [m["metric"] for m in metrics] == HOSTILE_METRICS
    for name, expected in zip(HOSTILE_METRICS, [1.0, 2.0, 3.0, 4.0, 5.0]):
        answer = web.get_json("/api/runs/%s/series?%s" % (data.hostile, q(metric=name)))
        assert answer["series"][0]["metric"] == name
        assert answer["series"][0]["value"][0] == expected


def test_hostile_names_in_csv(web, data):
    status, _, body = web.request("GET", "/api/runs/%s.csv" % data.hostile)
    header = next(csv.reader(io.StringIO(body.decode())))
    assert header == ["ts"] + HOSTILE_METRICS


# -- delete ------------------------------------------------------------------------------

def test_delete_disabled_without_token(web, data):
    assert_json_error(web, "DELETE", "/api/runs/" + data.older, 403)
    web.get_json("/api/runs/" + data.older)


def test_delete_needs_the_token(owner_web, cluster, data):
    path = "/api/runs/" + data.legacy
    assert_json_error(owner_web, "DELETE", path, 401)
    assert_json_error(owner_web, "DELETE", path, 401, {"X-Mnemic-Token": "wrong"})
    assert_json_error(owner_web, "DELETE", path, 401, {"X-Mnemic-Token": "s3cret-token-and-more"})
    owner_web.get_json(path)


def test_delete_run(owner_web, cluster):
    import webserver
    run = webserver.import_run(cluster, "to-delete", {"x": float}, IMPORT_START, 10)
    status, _, body = owner_web.request("DELETE", "/api/runs/" + run,
                                        {"X-Mnemic-Token": "s3cret-token"})
    assert status == 200 and json.loads(body) == {"deleted": run}
    assert_json_error(owner_web, "GET", "/api/runs/" + run, 404)
    assert_json_error(owner_web, "DELETE", "/api/runs/" + run, 404,
                      {"X-Mnemic-Token": "s3cret-token"})


# -- dolon 0.2.0 endpoints -----------------------------------------------------------------

def test_legacy_tracers(web, data):
    tree = web.get_json("/tracers")
    entry = [t for t in tree if t["tracer_name"] == "web-api-test"][0]
    assert set(entry) == {"tracer_name", "runs"}
    run = entry["runs"][0]
    assert set(run) == {"creation_time", "uuid"} and run["uuid"] == data.legacy
    assert len(run["creation_time"]) == 19 and run["creation_time"][10] == " "


def test_legacy_trace_run_info(web, data):
    info = web.get_json("/trace_run_info?uuid=" + data.legacy)
    assert set(info) == {"app_name", "counter", "started", "duration"}
    assert info["app_name"] == "web-api-test" and info["counter"] == 40
    assert info["duration"].endswith(" seconds") and " hours " in info["duration"]


def test_legacy_tracing_data(web, data):
    body = web.get_json("/tracing_data_handler?uuid=" + data.legacy)
    assert list(body) == ["cpu", "mem"]
    assert body["cpu"][0] == ["time", "cpu"]
    assert [row[1] for row in body["cpu"][1:]] == [r[0] for r in data.legacy_rows]
    assert all(len(row) == 2 for row in body["cpu"])
    assert len(body["mem"][1][0]) == 19


def test_legacy_csv_and_name(web, data):
    status, headers, body = web.request("GET", "/tracing_data_handler_as_csv?uuid=" + data.legacy)
    assert status == 200 and body.decode().splitlines()[0] == "ts,cpu,mem"
    name = web.get_json("/get_csv_name?uuid=" + data.legacy)["csv_name"]
    assert name.startswith("web-api-test-") and name.endswith(".csv")


def test_legacy_bad_and_unknown_uuid(web):
    for path in ("/trace_run_info", "/tracing_data_handler", "/get_csv_name",
                 "/tracing_data_handler_as_csv"):
        assert_json_error(web, "GET", path, 400)
        assert_json_error(web, "GET", path + "?uuid=zzz", 400)
        assert_json_error(web, "GET", path + "?uuid=" + UNKNOWN, 404)


def test_connects_as_a_reader(web, cluster):
    web.get_json("/api/tracers")
    users = {r[0] for r in cluster.query(
        "SELECT usename FROM pg_stat_activity WHERE application_name = 'mnemic-web'")}
    import webserver
    role = webserver.reader_role(cluster)
    assert role in users and "postgres" not in users, users
    assert cluster.query("SELECT pg_has_role(%s, 'mnemic_reader', 'member'), "
                         "pg_has_role(%s, 'mnemic_owner', 'member')", (role, role)) == [(True, False)]


def test_reader_may_not_delete_even_with_token(cluster, data):
    import webserver
    with webserver.WebServer(cluster.uri(user=webserver.reader_role(cluster)),
                             token="t") as w:
        assert_json_error(w, "DELETE", "/api/runs/" + data.older, 403, {"X-Mnemic-Token": "t"})
    web_rows = cluster.query("SELECT 1 FROM mnemic.run WHERE uuid = %s", (data.older,))
    assert web_rows == [(1,)]


def test_control_characters_and_unicode_round_trip(web, cluster):
    import webserver
    names = ["tab\there\nnewline\r", "back\\slash \u2028 sep", "emoji \U0001F600 \x7f", "\x01\x1f"]
    run = webserver.import_run(cluster, "ctl\x02\"tracer", {n: float for n in names},
                               IMPORT_START, 5)
    status, _, body = web.request("GET", "/api/runs/%s/metrics" % run)
    assert status == 200
    assert b"\t" not in body and b"\n" not in body[:-1] and "\u2028".encode() not in body
    assert [m["metric"] for m in json.loads(body)] == names
    assert web.get_json("/api/runs/" + run)["tracer"] == "ctl\x02\"tracer"


def test_head_sends_headers_only(web, data):
    status, headers, body = web.request("HEAD", "/api/runs/%s/series?metric=cpu" % data.legacy)
    assert status == 200 and body == b""
    assert headers["content-type"].startswith("application/json")
    assert int(headers["content-length"]) > 100
