"""Optional authentication (a digest password file, a bearer token) and
TLS with a throw-away self-signed certificate."""
import http.client
import json
import os
import ssl
import urllib.error
import urllib.request

import pytest

import webserver
from webserver import WebServer

REALM = "mnemic-test"
USERS = {"alice": "correct horse", "bob": "battery staple"}
TOKEN = "t0ken-for-scripts"


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory):
    return webserver.make_tls_cert(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("auth") / "mnemic-web.htdigest"
    return webserver.write_digest_file(str(path), REALM, USERS)


@pytest.fixture(scope="module")
def guarded(cluster, data, auth_file, tls_cert):
    """HTTPS, digest passwords and a bearer token, all at once."""
    with WebServer(cluster.uri(user=webserver.reader_role(cluster)), tls_cert=tls_cert,
                   extra_args=["--auth-file", auth_file, "--auth-realm", REALM,
                               "--auth-token", TOKEN]) as w:
        yield w


def _digest_get(w, path, user, password):
    """GET with HTTP digest authentication, as a script or browser does it."""
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, w.base_url, user, password)
    opener = urllib.request.build_opener(
        urllib.request.HTTPDigestAuthHandler(manager),
        urllib.request.HTTPSHandler(context=w.tls_context))
    try:
        with opener.open(w.base_url + path, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize("path", ["/", "/app.js", "/api/tracers", "/metrics", "/tracers"])
def test_without_credentials_everything_but_healthz_is_refused(guarded, path):
    status, headers, _ = guarded.request("GET", path)
    assert status == 401, (path, status)
    assert headers["www-authenticate"].startswith("Digest ")
    assert 'realm="%s"' % REALM in headers["www-authenticate"]


def test_healthz_needs_no_credentials(guarded):
    assert guarded.get_json("/healthz")["status"] == "ok"


@pytest.mark.parametrize("user", sorted(USERS))
def test_digest_password_lets_in(guarded, data, user):
    status, body = _digest_get(guarded, "/api/tracers", user, USERS[user])
    assert status == 200, body[:300]
    assert any(t["tracer"] == "web-api-test" for t in json.loads(body)["tracers"])
    status, body = _digest_get(guarded, "/", user, USERS[user])
    assert status == 200 and b"<" in body


def test_wrong_password_is_refused(guarded):
    assert _digest_get(guarded, "/api/tracers", "alice", "wrong")[0] == 401
    assert _digest_get(guarded, "/api/tracers", "mallory", "correct horse")[0] == 401


def test_bearer_token_lets_in(guarded):
    status, _, body = guarded.request("GET", "/api/tracers",
                                      {"Authorization": "Bearer " + TOKEN})
    assert status == 200, body[:300]
    for wrong in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", "Bearer ", TOKEN,
                  "Basic " + TOKEN):
        status, _, _ = guarded.request("GET", "/api/tracers", {"Authorization": wrong})
        assert status == 401, wrong


def test_token_only_server_answers_json_401(cluster):
    with WebServer(cluster.uri(user=webserver.reader_role(cluster)),
                   extra_args=["--auth-token", TOKEN]) as w:
        status, headers, body = w.request("GET", "/api/tracers")
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert json.loads(body)["error"]["status"] == 401
        w.headers["Authorization"] = "Bearer " + TOKEN
        assert isinstance(w.get_json("/api/tracers")["tracers"], list)


def test_an_unreadable_password_file_refuses_everyone(cluster, tmp_path):
    """CivetWeb's own global_auth_file lets everyone in when the file is
    gone; ours must not."""
    path = webserver.write_digest_file(str(tmp_path / "pw"), REALM, USERS)
    with WebServer(cluster.uri(user=webserver.reader_role(cluster)),
                   extra_args=["--auth-file", path, "--auth-realm", REALM]) as w:
        assert _digest_get(w, "/api/tracers", "alice", USERS["alice"])[0] == 200
        os.unlink(path)
        assert _digest_get(w, "/api/tracers", "alice", USERS["alice"])[0] == 401
        assert w.request("GET", "/")[0] == 401


def test_tls_serves_https_with_the_certificate(guarded, tls_cert):
    conn = http.client.HTTPSConnection("127.0.0.1", guarded.port, timeout=30,
                                       context=ssl.create_default_context(cafile=tls_cert))
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"
    assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
    conn.close()


def test_tls_port_speaks_no_plain_http(guarded):
    conn = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=10)
    with pytest.raises((OSError, http.client.HTTPException)):
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        assert resp.status != 200   # whatever comes back, not a plain answer
        raise OSError("answered: %d" % resp.status)
    conn.close()


def test_tls_refuses_an_untrusting_client(guarded):
    """A client that checks certificates against the system's roots does
    not accept the self-signed one: TLS is really on."""
    conn = http.client.HTTPSConnection("127.0.0.1", guarded.port, timeout=10,
                                       context=ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/healthz")
    conn.close()


def test_healthz_keeps_the_database_error_to_itself_when_guarded():
    """/healthz needs no credentials; with authentication on, its answer
    must not tell a stranger the database's host, port or names."""
    uri = "postgresql://secret_user@127.0.0.1:1/secret_db"
    with WebServer(uri, extra_args=["--auth-token", TOKEN]) as w:
        status, _, body = w.request("GET", "/healthz")
        assert status == 503
        assert json.loads(body) == {"status": "unavailable", "database": "unavailable"}
    with WebServer(uri) as w:       # open to all anyway: the reason helps
        status, _, body = w.request("GET", "/healthz")
        assert status == 503 and b"127.0.0.1" in body
