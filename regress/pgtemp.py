"""A throw-away PostgreSQL 15 cluster with pg_mnemic preloaded, for tests.

Used by the end-to-end suites of every component (regress/e2e, dolon/tests,
web/tests).  The cluster lives under /tmp so the postgres user can enter it
whatever the checkout's permissions; as root, server programs run as
postgres through runuser.  Ports are free ones picked at start.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import psycopg2

BINDIR = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                        text=True, check=True).stdout.strip()


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


class TempCluster:
    """initdb + start; stop() removes everything.  Use as a context manager."""

    def __init__(self, settings=None, create_extension=True, dbname="mnemic"):
        self.port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.dbname = dbname
        self.create_extension = create_extension
        self.settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "shared_preload_libraries": "'pg_mnemic'",
            "pg_mnemic.port": str(self.udp_port),
            "pg_mnemic.database": "'%s'" % (dbname or "mnemic"),
            "fsync": "off",
            "log_min_messages": "log",
        }
        self.settings.update(settings or {})
        self.dir = None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="mnemic-pg-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.datadir = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        subprocess.run(_as_postgres([os.path.join(BINDIR, "initdb"), "-D",
                                     self.datadir, "-A", "trust", "-U",
                                     "postgres", "--no-sync", "-E", "UTF8",
                                     "--locale=C"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.write_settings(self.settings)
        try:
            self._start_and_create()
        except BaseException:
            # __exit__ never runs when start() fails: do not leak a server.
            self.stop()
            raise
        return self

    def _start_and_create(self):
        self.pg_ctl("start", "-w", "-t", "60", "-l", self.logfile,
                    "-o", "-k %s" % self.dir)
        # Not "with connection": since psycopg2 2.9 that opens a transaction
        # block even in autocommit mode, and CREATE DATABASE refuses one.
        if self.dbname:
            self.query('CREATE DATABASE "%s"' % self.dbname, dbname="postgres")
            if self.create_extension:
                self.query("CREATE EXTENSION pg_mnemic")

    def write_settings(self, settings):
        with open(os.path.join(self.datadir, "postgresql.auto.conf"), "a") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))

    def pg_ctl(self, *args):
        subprocess.run(_as_postgres([os.path.join(BINDIR, "pg_ctl"), "-D",
                                     self.datadir] + list(args)),
                       check=True, stdout=subprocess.DEVNULL)

    def reload(self, **settings):
        self.write_settings(settings)
        self.pg_ctl("reload")

    def restart(self):
        self.pg_ctl("restart", "-w", "-m", "fast", "-l", self.logfile,
                    "-o", "-k %s" % self.dir)

    def stop(self, mode="fast"):
        if self.dir is None:
            return
        try:
            self.pg_ctl("stop", "-w", "-m", mode)
        except subprocess.CalledProcessError:
            pass
        if os.environ.get("MNEMIC_KEEP_CLUSTER"):
            print("cluster kept in", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- use ---------------------------------------------------------------
    @property
    def dsn(self):
        return "host=127.0.0.1 port=%d user=postgres dbname=%s" % (
            self.port, self.dbname)

    def uri(self, dbname=None, user="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (
            user, self.port, dbname or self.dbname)

    def connect(self, dbname=None):
        return psycopg2.connect(host="127.0.0.1", port=self.port,
                                user="postgres", dbname=dbname or self.dbname)

    def query(self, sql, params=None, dbname=None):
        conn = self.connect(dbname)
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def wait_for(self, sql, predicate, timeout=10.0, params=None):
        """Poll sql until predicate(rows) holds; return the rows or raise."""
        deadline = time.monotonic() + timeout
        rows = None
        while time.monotonic() < deadline:
            rows = self.query(sql, params)
            if predicate(rows):
                return rows
            time.sleep(0.05)
        raise AssertionError("timed out waiting: %s -> %r" % (sql, rows))

    def send_udp(self, payloads, host="127.0.0.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for p in payloads:
                s.sendto(p if isinstance(p, bytes) else p.encode(),
                         (host, self.udp_port))
