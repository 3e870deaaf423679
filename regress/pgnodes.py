"""Several throw-away pg_mnemic nodes behind a coordinator, on loopback.

Each node is a TempCluster with its own listener (UDP port) and a login
role the coordinator uses, which must give a password (SCRAM) as a real
deployment's would; the coordinator is a TempCluster without the library
preloaded (it needs no listener) whose mnemic.add_node() registered every
node.  Used by regress/e2e/test_cluster.py, bench/cluster.py and the web
API tests against a coordinator.
"""
import os
import time

import psycopg2

from pgtemp import TempCluster

NODE_ROLE = "mnemic_coordinator"
NODE_PASSWORD = "node-secret-\u00e9"


class TempNodes:
    """start() brings up `count` nodes and a coordinator; stop() removes all."""

    def __init__(self, count=2, node_settings=None):
        self.nodes = [TempCluster(settings=dict(node_settings or {}))
                      for _ in range(count)]
        self.coordinator = TempCluster(
            settings={"shared_preload_libraries": "''"})
        self.names = ["n%d" % (i + 1) for i in range(count)]

    def start(self):
        try:
            for node in self.nodes:
                node.start()
                require_password(node)
            self.coordinator.start()
            for name, node in zip(self.names, self.nodes):
                self.coordinator.query("SELECT mnemic.add_node(%s, %s)",
                                       (name, self.conninfo(node)))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for c in [self.coordinator] + self.nodes:
            c.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def conninfo(node):
        return ("host=127.0.0.1 port=%d dbname=%s user=%s password='%s'"
                % (node.port, node.dbname, NODE_ROLE,
                   NODE_PASSWORD.replace("'", "\\'")))

    def node(self, name):
        return self.nodes[self.names.index(name)]

    def dolon_hosts(self):
        """The host list dolon takes for these nodes, in node order."""
        return ",".join("127.0.0.1:%d" % n.udp_port for n in self.nodes)

    def node_of_run(self, run):
        """The node dolon sends run (a uuid.UUID) to: first 8 bytes mod N."""
        return self.names[int.from_bytes(run.bytes[:8], "big") % len(self.nodes)]


def require_password(node):
    """Make node's coordinator role log in with a password, as it must over
    a network (dblink refuses a non-superuser a connection without one)."""
    node.query("SET password_encryption = 'scram-sha-256'; "
               "CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE mnemic_reader"
               % (NODE_ROLE, NODE_PASSWORD))
    hba = os.path.join(node.datadir, "pg_hba.conf")
    with open(hba) as f:
        rules = f.read()
    with open(hba, "w") as f:
        f.write("host all %s 127.0.0.1/32 scram-sha-256\n" % NODE_ROLE + rules)
    node.pg_ctl("reload")
    # the reload is asynchronous: wait until the role is asked for a password
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            psycopg2.connect(host="127.0.0.1", port=node.port, user=NODE_ROLE,
                             dbname=node.dbname).close()
        except psycopg2.OperationalError as e:
            if "password" in str(e):
                return
            raise
        time.sleep(0.05)
    raise AssertionError("pg_hba.conf was not reloaded")
