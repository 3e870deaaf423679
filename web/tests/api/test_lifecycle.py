"""mnemic-web's life: options, a database that restarts, SIGTERM."""
import concurrent.futures
import os
import signal
import subprocess
import time

import webserver
from webserver import BINARY, WebServer

SESSIONS = 16       # --db-connections' default


def test_survives_database_restart(cluster, data, web):
    web.get_json("/api/runs/" + data.legacy)
    cluster.restart()
    # Every worker's old connection is dead now; each must reconnect.
    for _ in range(12):
        web.get_json("/api/runs/" + data.legacy)
    assert web.get_json("/healthz")["status"] == "ok"


def _paths(data):
    run = data.legacy
    return ["/healthz", "/api/tracers", "/api/runs/" + run, "/api/runs/%s/metrics" % run,
            "/api/runs/%s/series?points=50" % run, "/api/runs/%s.csv" % run,
            "/tracers", "/tracing_data_handler?uuid=" + run,
            "/tracing_data_handler_as_csv?uuid=" + run, "/metrics"]


def _connect_every_session(w, data):
    """Enough requests at once that every session of the pool opens its
    connection, so that a restart leaves every one of them broken."""
    def one(i):
        return w.request("GET", _paths(data)[i % 10])[0]
    with concurrent.futures.ThreadPoolExecutor(SESSIONS * 2) as pool:
        assert set(pool.map(one, range(SESSIONS * 12))) == {200}


def _wait_until_database_answers(cluster, predicate=lambda rows: True,
                                 sql="SELECT 1", timeout=60):
    """Until the database answers sql with rows that satisfy predicate;
    while it restarts, it refuses connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate(cluster.query(sql)):
                return
        except Exception:
            pass
        assert time.monotonic() < deadline, "timed out waiting for: " + sql
        time.sleep(0.05)


def _every_request_succeeds(w, data):
    """Requests many at a time, so that every session is borrowed and
    meets its broken connection: each must retry, not answer 503."""
    paths = _paths(data) * (SESSIONS // 2)
    with concurrent.futures.ThreadPoolExecutor(SESSIONS * 2) as pool:
        statuses = list(pool.map(lambda p: (p, w.request("GET", p)[0]), paths))
    assert [s for s in statuses if s[1] != 200] == []


def test_immediate_restart_costs_no_request(cluster, data):
    with WebServer(cluster.uri(user=webserver.reader_role(cluster))) as w:
        _connect_every_session(w, data)
        cluster.pg_ctl("restart", "-w", "-m", "immediate", "-l", cluster.logfile,
                       "-o", "-k %s" % cluster.dir)
        _wait_until_database_answers(cluster)
        _every_request_succeeds(w, data)


def test_crash_restart_costs_no_request(cluster, data):
    """A backend killed with SIGKILL makes PostgreSQL end every session
    and restart: the web's sessions find out on their next statement."""
    with WebServer(cluster.uri(user=webserver.reader_role(cluster))) as w:
        _connect_every_session(w, data)
        rows = cluster.query("SELECT pid FROM pg_stat_activity WHERE application_name = "
                             "'mnemic-web' LIMIT 1")
        assert rows, "mnemic-web holds no connection"
        os.kill(rows[0][0], signal.SIGKILL)
        # The postmaster notices, ends every session and recovers.
        _wait_until_database_answers(
            cluster, lambda r: r[0][0] == 0,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mnemic-web'")
        _every_request_succeeds(w, data)


def test_database_down_is_503_json(cluster):
    with WebServer("postgresql://postgres@127.0.0.1:1/none") as w:
        status, headers, body = w.request("GET", "/api/tracers")
        assert status == 503 and headers["content-type"].startswith("application/json")
        status, _, _ = w.request("GET", "/healthz")
        assert status == 503
        status, _, body = w.request("GET", "/metrics")
        assert status == 200 and b"mnemic_web_database_up 0" in body


def test_sigterm_stops_cleanly(cluster):
    w = WebServer(cluster.uri()).start()
    w.get_json("/healthz")
    assert w.stop() == 0


def test_bad_options_are_refused():
    for args in (["--port", "0"], ["--port", "x"], ["--listen", "localhost"],
                 ["--threads", "0"], ["--threads", "5000"], ["--db-connections", "0"],
                 ["--static", "/nonexistent"], ["--tls-cert", "/nonexistent.pem"],
                 ["--auth-file", "/nonexistent"], ["--auth-realm", "a:b"], ["extra"]):
        r = subprocess.run([BINARY] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        assert "mnemic-web:" in r.stderr or "usage" in r.stderr


def test_environment_fallbacks(cluster, tmp_path):
    import socket
    from webserver import free_port, STATIC
    port = free_port()
    env = dict(os.environ, FRONT_END_PORT=str(port), POSTGRES_CONN_STR=cluster.uri())
    proc = subprocess.Popen([BINARY, "--static", STATIC], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        import time
        import http.client
        deadline = time.monotonic() + 10
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/healthz")
                assert c.getresponse().status == 200
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
