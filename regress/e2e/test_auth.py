"""Signed ingest over real UDP: pg_mnemic.auth = off | verify | require,
HMAC-SHA-256 tags under the keys of mnemic.ingest_key, the replay window,
and keys or modes that change while the server runs.

Every datagram a test sends carries tick values of its own, so what was
stored tells exactly which datagrams got in; the drop counters of
listener_stats() tell why the others did not.  Tests wait for the receiver
to have counted what was sent (datagrams_received), then for the rows.
"""
import json
import os

import pytest

from conftest import (TempCluster, legacy_header, legacy_row, new_run, stats,
                      stored_samples, v1_datagram, v1_describe, v1_ticks,
                      wait_until, worker_pids)
from v1wire import v1_sign

T0_US = 1_700_000_000_000_000
KEY = bytes(range(32))      # the test vectors' secret (docs/vectors)
OTHER = bytes(range(100, 132))
VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                       "vectors")
DROPS = ("bad_auth", "unknown_key", "unsigned", "replayed")


def auth_cluster(mode, **settings):
    s = {"pg_mnemic.flush_interval": "50"}
    if mode is not None:
        s["pg_mnemic.auth"] = mode
    s.update(settings)
    return TempCluster(settings=s)


@pytest.fixture
def off():
    with auth_cluster(None) as c:
        yield ready(c)


@pytest.fixture
def verify():
    with auth_cluster("verify") as c:
        yield ready(c)


@pytest.fixture
def require():
    with auth_cluster("require") as c:
        yield ready(c)


def ready(c):
    """Both workers running and the (empty) key table loaded."""
    wait_until(lambda: worker_pids(c),
               lambda p: {"pg_mnemic inserter", "pg_mnemic receiver"} <= set(p))
    wait_until(lambda: stats(c)["ingest_keys"], lambda k: k == 0)
    return c


def add_key(c, key_id, secret):
    c.query("SELECT mnemic.add_ingest_key(%s, %s)", (key_id, secret))


def wait_keys(c, n):
    """Until the receiver's copy holds n keys (a commit gets them there)."""
    wait_until(lambda: stats(c)["ingest_keys"], lambda k: k == n, timeout=10)


def ticks(run, seq, value, describe=False):
    """An unsigned v1 datagram with one tick of one metric, "m" = value."""
    msgs = [v1_ticks(T0_US + seq * 1_000_000, [[float(value)]])]
    if describe:
        msgs.insert(0, v1_describe(T0_US, ["m"]))
    return v1_datagram(run, seq, msgs)


def values(c, run):
    return sorted(r[0] for r in c.query(
        "SELECT value FROM mnemic.samples WHERE run = %s", (str(run),)))


class Sent:
    """Datagrams sent in one round, and what the listener made of them."""

    def __init__(self, c):
        self.c = c
        self.before = stats(c)
        self.count = 0

    def send(self, payloads):
        self.c.send_udp(payloads)
        self.count += len(payloads)
        return self

    def judged(self):
        """How the counters grew, once every datagram sent is accounted
        for: dropped by the receiver or the inserter, or decoded."""
        fates = DROPS + ("malformed", "datagrams_decoded", "ring_drops")

        def grown(s):
            return {k: s[k] - self.before[k] for k in fates}

        # The receiver counts drops as it judges each datagram, but a batch
        # as received only after the whole batch: wait for both.
        now = wait_until(lambda: stats(self.c),
                         lambda s: sum(grown(s).values()) >= self.count and
                         s["datagrams_received"] -
                         self.before["datagrams_received"] >= self.count)
        assert now["datagrams_received"] - self.before["datagrams_received"] \
            == self.count
        d = grown(now)
        assert sum(d.values()) == self.count and d.pop("ring_drops") == 0
        return d


def test_off_takes_every_datagram_as_before(off):
    """The default: no tag is checked, nothing is dropped as a replay."""
    add_key(off, 1, KEY)
    wait_keys(off, 1)
    run = new_run()
    good = v1_sign(ticks(run, 0, 1, describe=True), 1, KEY)
    sent = Sent(off).send([
        good, good,                                     # a replay
        v1_sign(ticks(run, 1, 2), 1, OTHER),            # a wrong tag
        v1_sign(ticks(run, 2, 3), 9, KEY),              # no such key
        ticks(run, 3, 4),                               # unsigned
        legacy_row(new_run(), [5]),
    ])
    assert sent.judged() == dict.fromkeys(DROPS, 0) | {
        "malformed": 0, "datagrams_decoded": 6}
    wait_until(lambda: values(off, run), lambda v: v == [1, 1, 2, 3, 4])


def test_verify_checks_tags_that_are_there_and_drops_replays(verify):
    add_key(verify, 1, KEY)
    wait_keys(verify, 1)
    run = new_run()
    legacy = new_run()
    signed = v1_sign(ticks(run, 1, 2), 1, KEY)
    unsigned = ticks(run, 0, 1, describe=True)
    sent = Sent(verify).send([
        unsigned,                                       # taken
        signed,                                         # taken
        signed,                                         # replayed
        unsigned,                                       # replayed as well
        v1_sign(ticks(run, 2, 3), 1, OTHER),            # bad_auth
        v1_sign(ticks(run, 3, 4), 9, KEY),              # unknown_key
        v1_sign(ticks(run, 4, 5), 1, KEY, tag_len=15),  # bad_auth: too short
        v1_sign(ticks(run, 5, 6), 1, KEY, tag_len=32),  # taken
        legacy_header(legacy, "old", ["x"]), legacy_row(legacy, [7]),
    ])
    assert sent.judged() == {"bad_auth": 2, "unknown_key": 1, "unsigned": 0,
                             "replayed": 2, "malformed": 0,
                             "datagrams_decoded": 5}
    wait_until(lambda: values(verify, run), lambda v: v == [1, 2, 6])
    wait_until(lambda: values(verify, legacy), lambda v: v == [7])


def test_require_takes_only_signed_v1(require):
    add_key(require, 1, KEY)
    add_key(require, 2, OTHER)
    wait_keys(require, 2)
    run = new_run()
    first = v1_sign(ticks(run, 0, 1, describe=True), 1, KEY, tag_len=32)
    flipped = bytearray(v1_sign(ticks(run, 1, 2), 1, KEY))
    flipped[40] ^= 0x01                                 # a value bit
    other_key = bytearray(v1_sign(ticks(run, 2, 3), 1, KEY))
    other_key[-2] = 2                                   # key 2: other secret
    absent_key = bytearray(v1_sign(ticks(run, 3, 4), 1, KEY))
    absent_key[-2] = 77
    # The first 16 bytes of a 32-byte tag are the 16-byte tag of the same
    # bytes: shortening it is no forgery, only a replay.
    shortened = first[:-2 - 16] + bytes([1, 16])
    sent = Sent(require).send([
        first,
        ticks(run, 10, 10),                             # unsigned
        legacy_header(run, "old", ["m"]),               # unsigned
        legacy_row(run, [11]),                          # unsigned
        b"hello",                                       # unsigned
        bytes(flipped),                                 # bad_auth
        bytes(other_key),                               # bad_auth
        bytes(absent_key),                              # unknown_key
        shortened,                                      # replayed
        v1_sign(ticks(run, 7, 7), 2, OTHER),            # taken
        v1_sign(ticks(run, 5, 5), 1, KEY),              # late, taken
        v1_sign(ticks(run, 5, 5), 1, KEY),              # replayed
    ])
    assert sent.judged() == {"bad_auth": 2, "unknown_key": 1, "unsigned": 4,
                             "replayed": 2, "malformed": 0,
                             "datagrams_decoded": 3}
    wait_until(lambda: values(require, run), lambda v: v == [1, 5, 7])
    assert require.query("SELECT lost FROM mnemic.run WHERE uuid = %s",
                         (str(run),)) == [(5,)], \
        "sequence 0..7 with 0, 5 and 7 taken: dropped ones count as lost"
    assert require.query(
        "SELECT key_id, datagrams, last_used > now() - interval '1 minute' "
        "FROM mnemic.ingest_key_usage() ORDER BY key_id") == [
            (1, 2, True), (2, 1, True)]


def test_require_with_the_signed_test_vectors(require):
    """The vectors' tags (Python's hmac) verify in the server (PostgreSQL's
    HMAC, OpenSSL); the two that must not, do not."""
    with open(os.path.join(VECTORS, "vectors.json")) as f:
        vectors = [v for v in json.load(f)["vectors"]
                   if v["name"].startswith("v1_signed_")]
    assert len(vectors) == 5
    for key_id in {v["datagram"]["auth"]["key_id"] for v in vectors}:
        add_key(require, key_id, KEY)
    wait_keys(require, 2)

    def read_hex(name):
        with open(os.path.join(VECTORS, name)) as f:
            return bytes.fromhex("".join(
                line for line in f if not line.startswith("#")).replace(
                    "\n", "").replace(" ", ""))

    sent = Sent(require).send([read_hex(v["file"]) for v in vectors])
    verifying = sum(v["datagram"]["auth"]["verifies"] for v in vectors)
    assert sent.judged() == {"bad_auth": len(vectors) - verifying,
                             "unknown_key": 0, "unsigned": 0, "replayed": 0,
                             "malformed": 0, "datagrams_decoded": verifying}
    assert verifying == 3


def test_keys_take_effect_at_commit_without_a_restart(require):
    run = new_run()
    seq = iter(range(100))
    secret = bytes(range(50, 82))

    def send_signed(value, key_id=3, key=secret):
        return Sent(require).send(
            [v1_sign(ticks(run, next(seq), value, describe=True), key_id, key)]
        ).judged()

    assert send_signed(1)["unknown_key"] == 1

    conn = require.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT mnemic.add_ingest_key(3, %s)", (secret,))
        assert send_signed(2)["unknown_key"] == 1, \
            "a key is not used before its transaction commits"
        conn.commit()
    finally:
        conn.close()
    # well before the reload once a minute: the commit asked for it
    wait_keys(require, 1)
    assert send_signed(3)["datagrams_decoded"] == 1

    conn = require.connect()
    try:
        conn.cursor().execute("SELECT mnemic.add_ingest_key(4, %s)", (KEY,))
        conn.rollback()
    finally:
        conn.close()
    # the owner may change the table directly: the trigger sees it too
    require.query("UPDATE mnemic.ingest_key SET secret = %s WHERE key_id = 3",
                  (OTHER,))
    wait_until(lambda: send_signed(4, key=OTHER)["datagrams_decoded"],
               lambda n: n == 1, timeout=10)
    assert send_signed(5)["bad_auth"] == 1, "the old secret is gone"
    assert send_signed(6, key_id=4, key=KEY)["unknown_key"] == 1, \
        "a rolled back key is never used"

    require.query("SELECT mnemic.drop_ingest_key(3)")
    wait_keys(require, 0)
    assert send_signed(7, key=OTHER)["unknown_key"] == 1
    wait_until(lambda: values(require, run), lambda v: v == [3, 4])


def test_reload_changes_the_mode(off):
    add_key(off, 1, KEY)
    wait_keys(off, 1)
    run = new_run()
    seq = iter(range(1000))

    def probe(make, counter):
        """Send fresh datagrams until one is counted under counter: the
        receiver has read the new setting."""
        return wait_until(
            lambda: Sent(off).send([make(next(seq))]).judged()[counter],
            lambda n: n == 1, timeout=10)

    unsigned = (lambda s: ticks(run, s, s, describe=True))
    forged = (lambda s: v1_sign(ticks(run, s, s, describe=True), 1, OTHER))

    off.reload(**{"pg_mnemic.auth": "require"})
    probe(unsigned, "unsigned")
    assert Sent(off).send([v1_sign(ticks(run, next(seq), -1), 1, KEY)]) \
        .judged()["datagrams_decoded"] == 1

    off.reload(**{"pg_mnemic.auth": "verify"})
    probe(unsigned, "datagrams_decoded")
    assert Sent(off).send([forged(next(seq))]).judged()["bad_auth"] == 1

    off.reload(**{"pg_mnemic.auth": "off"})
    probe(forged, "datagrams_decoded")
    assert stats(off)["replayed"] == 0


def test_signed_datagrams_before_the_keys_are_loaded_wait_in_the_ring():
    """At server start the receiver has no keys until the inserter has read
    them: it passes signed datagrams on unchecked, and the inserter checks
    them once it has the keys.  Here the listener's database does not exist
    yet, so the keys cannot be read until it does."""
    c = TempCluster(dbname=None, settings={
        "pg_mnemic.flush_interval": "50", "pg_mnemic.auth": "'require'",
        "pg_mnemic.database": "'later'"})
    with c:
        wait_until(lambda: worker_pids(c),
                   lambda p: "pg_mnemic receiver" in p)
        run = new_run()
        good = v1_sign(ticks(run, 0, 1, describe=True), 1, KEY)

        def counters():
            s = stats(c, "postgres")
            return {k: s[k] for k in DROPS + ("ring_used",)}

        c.query("CREATE EXTENSION pg_mnemic", dbname="postgres")
        c.send_udp([good, good,
                    v1_sign(ticks(run, 1, 2), 1, OTHER),
                    v1_sign(ticks(run, 2, 3), 5, KEY),
                    v1_sign(ticks(run, 3, 4), 1, KEY),
                    ticks(run, 4, 5)])
        # only the unsigned one could be judged without keys
        wait_until(lambda: stats(c, "postgres")["datagrams_received"],
                   lambda n: n == 6)
        before = counters()
        assert before["unsigned"] == 1 and before["ring_used"] > 0
        assert sum(before[k] for k in DROPS) == 1
        assert stats(c, "postgres")["ingest_keys"] is None

        # a database that has the extension and the key from its first moment
        c.query("CREATE DATABASE tmpl", dbname="postgres")
        c.query("CREATE EXTENSION pg_mnemic", dbname="tmpl")
        c.query("SELECT mnemic.add_ingest_key(1, %s)", (KEY,), dbname="tmpl")
        c.query("CREATE DATABASE later TEMPLATE tmpl", dbname="postgres")
        c.dbname = "later"
        wait_until(lambda: values(c, run), lambda v: v == [1, 4])
        after = wait_until(counters, lambda s: s["ring_used"] == 0)
        assert {k: after[k] - before[k] for k in DROPS} == {
            "bad_auth": 1, "unknown_key": 1, "unsigned": 0, "replayed": 1}


def test_ingest_datagram_ignores_auth(require):
    """mnemic.ingest_datagram() is the owner's replay tool: it stores what
    it is given, signed or not, as pg_mnemic.auth = off would."""
    run = new_run()
    dg = ticks(run, 0, 1, describe=True)
    assert require.query("SELECT mnemic.ingest_datagram(%s)", (dg,)) == [(1,)]
    assert require.query("SELECT mnemic.ingest_datagram(%s)",
                         (v1_sign(ticks(run, 0, 2), 1, OTHER),)) == [(1,)]
    assert values(require, run) == [1, 2]
    assert sum(stats(require)[k] for k in DROPS) == 0


def test_a_forged_flood_leaves_the_signed_run_whole(require):
    add_key(require, 1, KEY)
    wait_keys(require, 1)
    run = new_run()
    victim_seqs = list(range(200))
    forged = [v1_sign(ticks(run, s, -1), 1, OTHER) for s in range(200, 2200)]
    signed = [v1_sign(ticks(run, s, s, describe=(s == 0)), 1, KEY)
              for s in victim_seqs]
    payloads = []
    for k in range(200):
        payloads.append(signed[k])
        payloads.extend(forged[10 * k:10 * k + 10])
        payloads.append(signed[k])                      # and each replayed
    sent = Sent(require).send(payloads)
    d = sent.judged()
    assert d["bad_auth"] == 2000 and d["replayed"] == 200
    assert d["datagrams_decoded"] == 200
    wait_until(lambda: stored_samples(require, run), lambda n: n == 200)
    assert values(require, run) == [float(s) for s in victim_seqs]
    assert stats(require)["kernel_drops"] == 0


def test_pg_dump_keeps_the_keys(off):
    """The keys are the extension's configuration: a dump restores them."""
    import subprocess
    from pgtemp import BINDIR
    add_key(off, 4, KEY)
    dump = subprocess.run(
        [os.path.join(BINDIR, "pg_dump"), "-h", "127.0.0.1", "-p",
         str(off.port), "-U", "postgres", "-d", off.dbname],
        capture_output=True, text=True, check=True).stdout
    rows = dump[dump.index("COPY mnemic.ingest_key"):].splitlines()
    assert rows[1].startswith("4\t\\\\x" + KEY.hex() + "\t")
