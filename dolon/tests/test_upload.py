"""python3 -m dolon upload: a profile file to mnemic-web.

First against a small HTTP server of the test's own that records what
arrives and answers as mnemic-web does (the request's shape, the exit
codes, the messages), then end to end against the real mnemic-web and a
real cluster with pg_mnemic, when the web server is built."""
import gzip
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from conftest import DOLON_ROOT, REPO_ROOT

COLLAPSED = (b"main (job.py:3);load (job.py:20) 30\n"
             b"main (job.py:3);load (job.py:20);parse (job.py:41) 50\n"
             b"main (job.py:3);save (job.py:60) 20\n")
RUN = "12345678-1234-4234-8234-123456789abc"


def dolon_upload(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dolon", "upload", *args],
                          cwd=DOLON_ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records each POST and answers with the server's next reply."""

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.server.seen.append({"path": self.path, "headers": dict(self.headers),
                                 "body": self.rfile.read(length)})
        status, body = self.server.replies.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen, server.replies = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


def test_sends_the_file_as_it_is_with_tracer_and_token(recorder, tmp_path):
    path = tmp_path / "job.prof.gz"
    path.write_bytes(gzip.compress(COLLAPSED))
    recorder.replies.append((201, {"run": RUN, "tracer": "batch job", "format": "collapsed"}))
    done = dolon_upload("--tracer", "batch job", "--url", recorder.url + "/", "--token", "s3cret",
                        str(path))
    assert done.returncode == 0, done.stderr
    seen, = recorder.seen
    assert seen["path"] == "/api/import?tracer=batch+job"
    assert seen["headers"]["X-Mnemic-Token"] == "s3cret"
    assert "Authorization" not in seen["headers"]
    assert seen["body"] == path.read_bytes()
    assert done.stdout.splitlines() == [
        "%s: imported as a collapsed profile, run %s of tracer batch job" % (path, RUN),
        "%s/?run=%s" % (recorder.url, RUN)]


def test_format_and_tokens_from_options_and_environment(recorder, tmp_path):
    path = tmp_path / "stacks.txt"
    path.write_bytes(COLLAPSED)
    recorder.replies.append((201, {"run": RUN, "tracer": "t", "format": "collapsed"}))
    done = dolon_upload("--tracer", "t", "--url", recorder.url, "--format", "collapsed",
                        str(path), env={"MNEMIC_WEB_TOKEN": "from-env",
                                        "MNEMIC_WEB_AUTH_TOKEN": "bearer-secret"})
    assert done.returncode == 0, done.stderr
    seen, = recorder.seen
    assert seen["path"] == "/api/import?tracer=t&format=collapsed"
    assert seen["headers"]["X-Mnemic-Token"] == "from-env"
    assert seen["headers"]["Authorization"] == "Bearer bearer-secret"


def test_a_refusal_prints_the_servers_reason(recorder, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\x00\x01garbage")
    recorder.replies.append((415, {"error": {"status": 415, "message": "not a profile file"}}))
    done = dolon_upload("--tracer", "t", "--url", recorder.url, "--token", "x", str(path))
    assert done.returncode == 1
    assert "was not imported: 415: not a profile file" in done.stderr
    assert done.stdout == ""


def test_usage_and_environment_errors(tmp_path):
    done = dolon_upload("--url", "http://127.0.0.1:1", "f")
    assert done.returncode == 2 and "--tracer" in done.stderr
    done = dolon_upload("--tracer", "t", "--url", "ftp://x", "f")
    assert done.returncode == 2 and "--url" in done.stderr
    done = dolon_upload("--tracer", "t", "--url", "http://127.0.0.1:1", str(tmp_path / "none"))
    assert done.returncode == 1 and "cannot read" in done.stderr
    path = tmp_path / "f.txt"
    path.write_bytes(COLLAPSED)
    # Port 1 on loopback: nothing listens there.
    done = dolon_upload("--tracer", "t", "--url", "http://127.0.0.1:1", str(path))
    assert done.returncode == 1 and "cannot reach http://127.0.0.1:1" in done.stderr


def test_tracing_a_script_still_works_beside_upload():
    done = subprocess.run([sys.executable, "-m", "dolon", "--help"], cwd=DOLON_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--tracer" in done.stdout


WEB = os.path.join(REPO_ROOT, "web")


@pytest.mark.skipif(not os.access(os.path.join(WEB, "mnemic-web"), os.X_OK),
                    reason="mnemic-web is not built (make -C web)")
def test_end_to_end_into_a_real_mnemic_web(backend, tmp_path):
    sys.path.insert(0, os.path.join(WEB, "tests"))
    from webserver import WebServer
    path = tmp_path / "job.collapsed.gz"
    path.write_bytes(gzip.compress(COLLAPSED))
    # The extension's owner may import (roles.sql grants import_profile to no role).
    with WebServer(backend.uri(), token="upl0ad") as web:
        done = dolon_upload("--tracer", "uploaded-job", "--url", web.base_url,
                            "--token", "upl0ad", str(path))
        assert done.returncode == 0, done.stderr
        run = done.stdout.splitlines()[-1].rsplit("=", 1)[1]
        rows = backend.query("SELECT function, total FROM mnemic.flamegraph(%s, weight => 'samples') "
                             "ORDER BY node", (run,))
        assert rows == [("all", 100), ("main", 100), ("load", 80), ("parse", 50), ("save", 20)]
        assert backend.query("SELECT tracer FROM mnemic.runs() WHERE run = %s", (run,)) == \
            [("uploaded-job",)]
        refused = dolon_upload("--tracer", "uploaded-job", "--url", web.base_url,
                               "--token", "wrong", str(path))
        assert refused.returncode == 1 and "401" in refused.stderr
