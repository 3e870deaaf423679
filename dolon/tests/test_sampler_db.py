"""Stack and allocation sampling into a real pg_mnemic, end to end.

The same programs as test_sampler.py, whose truth is known by
construction, send their profiles to a throw-away cluster with pg_mnemic
listening; the answers come from the database's own functions
(mnemic.top_functions, mnemic.flamegraph, mnemic.allocations_by_type) and
must agree with the truth as the UDP-level tests' do.
"""
import datetime
import socket
import threading

import pytest

import profiles
from dolon import _core
from test_sampler import ALLOCATING, run_program

pytestmark = pytest.mark.skipif(
    _core.SAMPLING_UNAVAILABLE is not None,
    reason="stack sampling unavailable: %s" % _core.SAMPLING_UNAVAILABLE)

SPLIT = """
    import json, random, time, dolon

    def spin(n):
        x = 0
        for i in range(n):
            x += i
        return x

    def burn_a(n):
        return spin(n)

    def burn_b(n):
        return spin(n)

    t0 = time.thread_time()
    spin(200000)
    per_ms = 200000 / ((time.thread_time() - t0) * 1000)
    spent = {"burn_a": 0.0, "burn_b": 0.0}
    rnd = random.Random(3)
    with dolon.Tracer("db-split", 1.0, stack_hz=100) as tracer:
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            for f, ms in ((burn_a, 0.7), (burn_b, 0.3)):
                n = int(per_ms * ms * rnd.uniform(0.5, 1.5))
                t0 = time.thread_time()
                f(n)
                spent[f.__name__] += time.thread_time() - t0
    total = sum(spent.values())
    print(json.dumps({"share_a": spent["burn_a"] / total,
                      "run": str(tracer.run.uuid),
                      "samples": tracer.run.profiling.sampler.counters[
                          "samples_sent"]}))
"""


def wait_run(backend, run):
    """The run's first datagram is stored (the profile functions call an
    unknown run an error)."""
    backend.wait_for("SELECT count(*) FROM mnemic.run WHERE uuid = %s",
                     lambda r: r[0][0] == 1, timeout=30, params=(run,))


class Tee:
    """A UDP socket that forwards what it receives to the cluster and keeps
    a copy, so that the database and the tests' own reader can be asked
    the same question about the same datagrams."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.target = ("127.0.0.1", port)
        self.copies = []
        self.stopping = False
        self.thread = threading.Thread(target=self._forward, daemon=True)
        self.thread.start()

    def _forward(self):
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not self.stopping:
            try:
                data = self.sock.recv(70000)
            except socket.timeout:
                continue
            out.sendto(data, self.target)
            self.copies.append((data, 0.0))
        out.close()

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def test_cpu_split_by_the_databases_top_functions(backend, tmp_path):
    tee = Tee(backend.udp_port)
    try:
        out = run_program(SPLIT, tee.port, tmp_path)
        wait_run(backend, out["run"])
        # every sample the client sent is stored (loopback loses none)
        backend.wait_for(
            "SELECT total FROM mnemic.flamegraph(%s, weight => 'samples') "
            "WHERE node = 0", lambda r: r and r[0][0] >= out["samples"],
            timeout=30, params=(out["run"],))
    finally:
        tee.close()
    top = {f: total for f, _file, _line, _self, total in backend.query(
        "SELECT function, file, line, self, total FROM "
        "mnemic.top_functions(%s, weight => 'cpu')", (out["run"],))}
    # the database and the tests' reader agree on the same datagrams ...
    (run,) = [r for r in profiles.gather(tee.copies).values()
              if str(r.id) == out["run"]]
    for f in ("burn_a", "burn_b"):
        ours = sum(s["weight_us"] for s in run.samples if s["flags"] & 1
                   and f in run.functions_of(s["stack"])) / 1e6
        assert abs(top[f] - ours) < 1e-6 * max(1.0, ours), (f, top, ours)
    # ... and with the truth, within four standard errors of the sampling
    share_a = top["burn_a"] / (top["burn_a"] + top["burn_b"])
    error, n_eff = profiles.share_error(run, ["burn_a", "burn_b"],
                                        out["share_a"])
    assert n_eff > 30, n_eff
    assert abs(share_a - out["share_a"]) < 4 * error, (share_a, out, n_eff)
    (tracer, pid), = backend.query(
        "SELECT t.name, r.pid FROM mnemic.run r JOIN mnemic.tracer t "
        "ON t.id = r.tracer_id WHERE r.uuid = %s", (out["run"],))
    assert tracer == "db-split" and pid > 0


def test_bytes_allocated_and_freed_by_the_database(backend, tmp_path):
    source = ALLOCATING.replace(
        'print(json.dumps(marks))',
        'marks["run"] = str(t.run.uuid)\n'
        '    marks["allocs"] = t.run.profiling.sampler.counters["allocs_sent"]\n'
        '    print(json.dumps(marks))').replace(
        'with dolon.Tracer("alloc", 1.0, allocations=True):',
        'with dolon.Tracer("db-alloc", 1.0, allocations=True) as t:')
    marks = run_program(source, backend.udp_port, tmp_path)
    run = marks["run"]
    wait_run(backend, run)
    backend.wait_for(
        "SELECT sum(count) FROM mnemic.allocations_by_type(%s)",
        lambda r: r and r[0][0] is not None and r[0][0] >= marks["allocs"],
        timeout=30, params=(run,))
    types = backend.query(
        "SELECT type, bytes FROM mnemic.allocations_by_type(%s, "
        "function => 'make_blobs')", (run,))
    assert types[0][0] == "bytes", types
    assert 0.85 * 300e6 < types[0][1] < 1.15 * 300e6, types

    def at(us):
        return datetime.datetime.fromtimestamp(us / 1e6,
                                               datetime.timezone.utc)

    def in_use(until_us):
        rows = backend.query(
            "SELECT coalesce(sum(bytes), 0) FROM mnemic.allocations_by_type("
            "%s, NULL, %s, 'inuse', 'make_blobs')", (run, at(until_us)))
        return int(rows[0][0])

    kept = in_use(marks["kept_us"])
    assert 0.7 * marks["kept_bytes"] < kept < 1.3 * marks["kept_bytes"]
    assert in_use(marks["end_us"]) < 0.05 * kept


SIGNED = """
    import json, os, sys, time, dolon

    def spin(n):
        x = 0
        for i in range(n):
            x += i
        return x

    def burn_signed(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            spin(1000)
            bytes(200000)

    key = os.environ.pop("TEST_KEY", None)
    with dolon.Tracer(sys.argv[1], 0.2, stack_hz=100, allocations=65536,
                      key=key) as tracer:
        burn_signed(1.5)
    counters = tracer.run.profiling.sampler.counters
    print(json.dumps({"run": str(tracer.run.uuid),
                      "samples": counters["samples_sent"],
                      "allocs": counters["allocs_sent"]}))
"""


def test_signed_profile_is_stored_where_signatures_are_required(tmp_path):
    """Under pg_mnemic.auth = require a run sampled with key= has its
    stacks and allocations stored, every datagram passing the check; the
    same program unsigned stores nothing."""
    pgtemp = pytest.importorskip("pgtemp")
    with pgtemp.TempCluster(settings={"pg_mnemic.auth": "require",
                                      "pg_mnemic.flush_interval": "50"}) as c:
        key = c.query("SELECT mnemic.add_ingest_key(5)")[0][0]
        c.wait_for("SELECT ingest_keys FROM mnemic.listener_stats()",
                   lambda r: r[0][0] == 1, timeout=30)
        signed = run_program(SIGNED, c.udp_port, tmp_path,
                             args=["signed-profile"], env={"TEST_KEY": key})
        assert signed["samples"] > 0 and signed["allocs"] > 0, signed
        wait_run(c, signed["run"])
        c.wait_for(
            "SELECT total FROM mnemic.flamegraph(%s, weight => 'samples') "
            "WHERE node = 0", lambda r: r and r[0][0] >= signed["samples"],
            timeout=30, params=(signed["run"],))
        c.wait_for(
            "SELECT sum(count) FROM mnemic.allocations_by_type(%s)",
            lambda r: r and r[0][0] is not None
            and r[0][0] >= signed["allocs"],
            timeout=30, params=(signed["run"],))
        top = c.query("SELECT function FROM mnemic.top_functions(%s, "
                      "weight => 'cpu') ORDER BY self DESC LIMIT 1",
                      (signed["run"],))
        assert top[0][0] in ("spin", "burn_signed"), top
        # the same program without a key: refused, every datagram of it
        unsigned = run_program(SIGNED, c.udp_port, tmp_path,
                               args=["unsigned-profile"])
        assert unsigned["samples"] > 0, unsigned
        stats = c.wait_for(
            "SELECT unsigned, bad_auth, unknown_key, replayed "
            "FROM mnemic.listener_stats()", lambda r: r[0][0] > 0,
            timeout=30)
        assert stats[0][1:] == (0, 0, 0), stats
        assert c.query("SELECT count(*) FROM mnemic.run WHERE uuid = %s",
                       (unsigned["run"],)) == [(0,)]
        assert c.query("SELECT key_id, datagrams > 0 FROM "
                       "mnemic.ingest_key_usage()") == [(5, True)]
