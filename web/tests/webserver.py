"""Start mnemic-web against a TempCluster, and put data in it, for tests.

Shared by the API tests (tests/api), the browser tests (tests/browser) and
the benchmark (tests/bench).  Everything is real: the cluster is a
throw-away PostgreSQL 15 with pg_mnemic preloaded (regress/pgtemp.py), data
arrives over UDP on 127.0.0.1 or through mnemic.import_series(), and
mnemic-web is the built binary.
"""
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid as uuidlib

WEB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(WEB_DIR)
sys.path.insert(0, os.path.join(REPO, "regress"))

from pgtemp import TempCluster, free_port  # noqa: E402

BINARY = os.path.join(WEB_DIR, "mnemic-web")
STATIC = os.path.join(WEB_DIR, "static")
ARTIFACTS = os.path.join(REPO, "test-artifacts")


def login_role(cluster, group, name):
    """A role that can log in with the rights of group: the group itself
    if it may log in, else a login member of it (roles.sql creates
    mnemic_reader and mnemic_owner NOLOGIN); postgres on an extension
    without roles."""
    rows = cluster.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (group,))
    if not rows:
        return "postgres"
    if rows[0][0]:
        return group
    if not cluster.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)):
        cluster.query('CREATE ROLE "%s" LOGIN IN ROLE "%s"' % (name, group))
    return name


def reader_role(cluster):
    """The role the web tier connects as: a login member of mnemic_reader,
    as in production."""
    return login_role(cluster, "mnemic_reader", "mnemic_web")


def owner_role(cluster):
    """A login member of mnemic_owner, which may delete runs."""
    return login_role(cluster, "mnemic_owner", "mnemic_web_owner")


class WebServer:
    """mnemic-web on a free port; stop() sends SIGTERM and waits.

    With tls_cert (a PEM file with the certificate and its key, as
    make_tls_cert() writes) it serves HTTPS, and request() trusts that
    certificate; headers go with every request() (credentials)."""

    def __init__(self, db_uri, token=None, threads=None, extra_args=(), tls_cert=None,
                 headers=None):
        self.port = free_port()
        self.db_uri = db_uri
        self.token = token
        self.threads = threads
        self.extra_args = list(extra_args)
        self.tls_cert = tls_cert
        self.headers = dict(headers or {})
        self.proc = None
        self.log_path = None

    def start(self):
        argv = [BINARY, "--port", str(self.port), "--db", self.db_uri,
                "--static", STATIC]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        if self.token:
            argv += ["--token", self.token]
        if self.tls_cert:
            argv += ["--tls-cert", self.tls_cert]
        argv += self.extra_args
        env = dict(os.environ)
        for k in list(env):
            if k in ("FRONT_END_PORT", "POSTGRES_CONN_STR") or k.startswith("MNEMIC_WEB_"):
                env.pop(k)
        self.log = open(os.path.join("/tmp", "mnemic-web-%d.log" % self.port), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mnemic-web exited: " + self.output())
            try:
                self.request("GET", "/healthz")
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mnemic-web did not start: " + self.output())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        self.log.close()
        os.unlink(self.log.name)
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls_cert else "http", self.port)

    @property
    def tls_context(self):
        """An SSL context that trusts this server's certificate, or None."""
        if not self.tls_cert:
            return None
        return ssl.create_default_context(cafile=self.tls_cert)

    def connection(self, timeout=30):
        if self.tls_cert:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, headers=None):
        """(status, headers dict with lower-case names, body bytes)."""
        conn = self.connection()
        try:
            conn.request(method, path, headers=dict(self.headers, **(headers or {})))
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()

    def get_json(self, path, expect=200):
        status, headers, body = self.request("GET", path)
        assert status == expect, (path, status, body[:500])
        assert headers["content-type"].startswith("application/json"), headers
        return json.loads(body)


def make_tls_cert(directory):
    """A throw-away self-signed certificate for 127.0.0.1 and localhost,
    with its key, in one PEM file (what --tls-cert takes); its path."""
    path = os.path.join(directory, "mnemic-web-test.pem")
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    with open(path, "w") as out:
        for part in (cert, key):
            with open(part) as f:
                out.write(f.read())
    os.unlink(key)
    os.unlink(cert)
    return path


def write_digest_file(path, realm, users):
    """An htdigest password file, user:realm:md5(user:realm:password),
    for --auth-file; users maps name to password."""
    import hashlib
    with open(path, "w") as f:
        for user, password in users.items():
            ha1 = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).hexdigest()
            f.write("%s:%s:%s\n" % (user, realm, ha1))
    return path


# -- data ---------------------------------------------------------------------

def legacy_header(run, app_name, columns):
    return json.dumps({"msg_type": "create_trace_run", "app_name": app_name,
                       "column_names": columns, "uuid": str(run)})


def legacy_row(run, values):
    return json.dumps({"msg_type": "row", "row_data": values, "uuid": str(run)})


def wait_for_listener(cluster, timeout=20):
    """Send throw-away datagrams (not JSON, not MNEM: counted as malformed,
    stored nowhere) until the listener counts one: then it is receiving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.send_udp([b"probe"])
        rows = cluster.query("SELECT datagrams_received FROM mnemic.listener_stats()")
        if rows and rows[0][0]:
            return
        time.sleep(0.1)
    raise AssertionError("the UDP listener never received anything")


def send_legacy_run(cluster, app_name, columns, rows):
    """A dolon 0.2.0 run over real UDP; waits until every value is stored."""
    wait_for_listener(cluster)
    run = uuidlib.uuid4()
    cluster.send_udp([legacy_header(run, app_name, columns)])
    for values in rows:
        cluster.send_udp([legacy_row(run, values)])
    expected = len(rows) * len(columns)
    cluster.wait_for("SELECT samples FROM mnemic.run WHERE uuid = %s",
                     lambda r: r and r[0][0] >= expected, params=(str(run),),
                     timeout=20)
    return str(run)


def import_run(cluster, tracer, metrics, start, count, step=1.0, run=None):
    """Points through mnemic.import_series(): metrics maps name -> function
    of the point index giving the value.  Times are start + i * step
    (epoch seconds)."""
    run = run or str(uuidlib.uuid4())
    conn = cluster.connect()
    try:
        conn.autocommit = True
        cur = conn.cursor()
        for name, fn in metrics.items():
            ts = [start + i * step for i in range(count)]
            values = [fn(i) for i in range(count)]
            cur.execute(
                "SELECT mnemic.import_series(%s, %s::uuid, %s, "
                "ARRAY(SELECT to_timestamp(t) FROM unnest(%s::float8[]) t), %s::float8[])",
                (tracer, run, name, ts, values))
    finally:
        conn.close()
    return run
