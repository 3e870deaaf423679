"""mnemic-web's life: options, a database that restarts, SIGTERM."""
import os
import subprocess

from webserver import BINARY, WebServer


def test_survives_database_restart(cluster, data, web):
    web.get_json("/api/runs/" + data.legacy)
    cluster.restart()
    # Every worker's old connection is dead now; each must reconnect.
    for _ in range(12):
        web.get_json("/api/runs/" + data.legacy)
    assert web.get_json("/healthz")["status"] == "ok"


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
                 ["--static", "/nonexistent"], ["extra"]):
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
