"""Signed datagrams: dolon's own HMAC-SHA-256 against RFC 4231 and
Python's hmac, the signed test vectors byte for byte, key="ID:HEX" on
start_tracer, Tracer, python3 -m dolon and DOLON_KEY (a bad one in code
raises, in the environment warns once and traces nothing), and a signed
run stored by a pg_mnemic that requires signatures."""
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import textwrap
import uuid
import warnings

import pytest

import v1decode
from conftest import (DOLON_ROOT, REPO_ROOT, WAIT_FOR_TICKS, trace_ticks,
                      wait_until)
from dolon import _core, config, trace_client, Tracer

SECRET = bytes(range(32))
KEY = "7:" + SECRET.hex()


@pytest.fixture
def fresh_warnings(monkeypatch):
    """dolon warns once per process about its environment: forget that."""
    monkeypatch.setattr(config, "_warned", set())


# -- HMAC-SHA-256 -----------------------------------------------------------

# RFC 4231, section 4: (key, data, HMAC-SHA-256, bytes compared)
RFC_4231 = [
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32),
    (b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32),
    (bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32),
    (b"\x0c" * 20, b"Test With Truncation",
     "a3b6167473100ee06e0c796c2955552b", 16),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32),
    (b"\xaa" * 131,
     b"This is a test using a larger than block-size key and a larger than "
     b"block-size data. The key needs to be hashed before being used by the "
     b"HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32),
]


@pytest.mark.parametrize("key, data, mac, n", RFC_4231,
                         ids=["rfc4231-%d" % (i + 1) for i in range(7)])
def test_hmac_sha256_rfc_4231(key, data, mac, n):
    assert _core.hmac_sha256(key, data)[:n].hex() == mac


def test_hmac_sha256_agrees_with_python_at_every_block_boundary():
    for key_len in (0, 1, 16, 32, 63, 64, 65, 200):
        key = bytes((7 * i + key_len) % 256 for i in range(key_len))
        for n in list(range(0, 200)) + [1400, 1418, 65507]:
            data = bytes((13 * i + n) % 256 for i in range(n))
            assert _core.hmac_sha256(key, data) == \
                hmac.new(key, data, hashlib.sha256).digest(), (key_len, n)


# -- the signed test vectors -------------------------------------------------

def _signed_vectors():
    with open(os.path.join(REPO_ROOT, "docs", "vectors", "vectors.json")) as f:
        return [v for v in json.load(f)["vectors"]
                if v["name"].startswith("v1_signed_") and
                all(m["kind"] in ("describe", "ticks", "end")
                    for m in v["datagram"]["messages"])]


SIGNED_VECTORS = _signed_vectors()


def read_hex(name):
    with open(os.path.join(REPO_ROOT, "docs", "vectors", name)) as f:
        return bytes.fromhex("".join(
            line for line in f if not line.lstrip().startswith("#")).replace(
                "\n", "").replace(" ", ""))


def _message(m):
    if m["kind"] == "describe":
        return _core.encode_describe(
            m["start_us"], m["pid"], m["period_us"], m["metric_total"],
            m["first_metric"], m["tracer"], m["host"], m["program"],
            m["python_version"], m["metrics"])
    if m["kind"] == "ticks":
        return _core.encode_ticks(
            m["base_us"], m["first_metric"],
            [(t["offset_us"], [float(v) for v in t["values"]])
             for t in m["ticks"]])
    return _core.encode_end(m["end_us"])


def test_signed_vectors_are_there():
    assert {"v1_signed_ticks", "v1_signed_full_tag", "v1_signed_tampered",
            "v1_signed_tag_15"} <= {v["name"] for v in SIGNED_VECTORS}


@pytest.mark.parametrize("vector", SIGNED_VECTORS,
                         ids=[v["name"] for v in SIGNED_VECTORS])
def test_signing_reproduces_the_signed_vectors(vector):
    """dolon's signature of the vector's unsigned datagram is the vector's
    tag -- or, for the one whose tag was tampered with, differs from it."""
    d = vector["datagram"]
    auth = d["auth"]
    unsigned = _core.encode_datagram(uuid.UUID(d["run"]).bytes, d["seq"],
                                     [_message(m) for m in d["messages"]])
    got = _core.sign_datagram(unsigned, auth["key_id"],
                              bytes.fromhex(auth["key_hex"]), auth["tag_len"])
    expected = read_hex(vector["file"])
    if vector["name"] == "v1_signed_tampered":
        assert got != expected and got[:-18] == expected[:-18]
        assert got[-17:] == expected[-17:], "only the tag's first byte"
    else:
        assert got.hex() == expected.hex()


# -- what a keyed tracer sends ----------------------------------------------

def verify(datagram, secret=SECRET, key_id=7):
    """The datagram's trailer, checked as pg_mnemic checks it."""
    assert datagram[5] & 1, "AUTH flag"
    assert datagram[-2] == key_id and datagram[-1] == 16
    signed, tag = datagram[:-18], datagram[-18:-2]
    assert hmac.new(secret, signed, hashlib.sha256).digest()[:16] == tag
    return v1decode.decode(datagram)


def test_start_tracer_signs_every_datagram(receiver):
    asyncio.run(trace_ticks(2, "signed-async", 0.02, "127.0.0.1",
                            receiver.port, trace_client.thread_count, key=KEY))
    datagrams = receiver.drain()
    assert len(datagrams) >= 2
    decoded = [verify(d) for d in datagrams]
    assert [d["seq"] for d in decoded] == list(range(len(decoded)))
    assert decoded[-1]["messages"][-1]["kind"] == "end"


def test_wide_signed_run_stays_within_1400_bytes(receiver):
    profilers = []
    for i in range(300):
        f = (lambda i=i: float(i))
        f.__name__ = "metric_%03d_with_a_long_name" % i
        profilers.append(f)
    with Tracer("signed-wide", 0.02, "127.0.0.1", receiver.port, *profilers,
                key=KEY) as tracer:
        assert wait_until(lambda: tracer.run is not None and
                          tracer.run.sender.counters["ticks"] >= 3)
    datagrams = receiver.drain()
    assert max(len(d) for d in datagrams) <= 1400
    for d in datagrams:
        verify(d)
    per_tick = {}
    for ts, first, values in v1decode.rows(datagrams):
        per_tick[ts] = per_tick.get(ts, 0) + len(values)
    assert per_tick and all(n >= 300 for n in per_tick.values())


def test_env_key_signs(receiver, monkeypatch):
    monkeypatch.setenv("DOLON_KEY", "200:" + SECRET.hex().upper() + "\n")
    with Tracer("signed-env", 0.02, "127.0.0.1", receiver.port) as tracer:
        assert wait_until(lambda: tracer.run is not None and
                          tracer.run.sender.counters["ticks"] >= 2)
    datagrams = receiver.drain()
    assert datagrams and all(verify(d, key_id=200) for d in datagrams)


def test_an_argument_key_comes_before_dolon_key(receiver, monkeypatch):
    monkeypatch.setenv("DOLON_KEY", "9:" + "00" * 32)
    with Tracer("signed-arg", 0.02, "127.0.0.1", receiver.port, key=KEY) \
            as tracer:
        assert wait_until(lambda: tracer.run is not None and
                          tracer.run.sender.counters["ticks"] >= 1)
    assert all(verify(d) for d in receiver.drain())


BAD_KEYS = [
    ("7", ValueError, "key id"),                        # no colon
    ("x:" + SECRET.hex(), ValueError, "key id"),
    ("256:" + SECRET.hex(), ValueError, "key id"),
    ("-1:" + SECRET.hex(), ValueError, "key id"),
    ("7:" + SECRET.hex()[:-1], ValueError, "not hex"),
    ("7:zz" + SECRET.hex()[2:], ValueError, "not hex"),
    ("7:" + "ab" * 15, ValueError, "15 bytes"),
    ("7:" + "ab" * 65, ValueError, "65 bytes"),
    ((7, SECRET), TypeError, "str"),
    (b"7:" + SECRET.hex().encode(), TypeError, "str"),
]


@pytest.mark.parametrize("key, error, words", BAD_KEYS)
def test_a_bad_key_in_code_raises_at_the_call(key, error, words):
    with pytest.raises(error, match=words) as raised:
        Tracer("bad-key", 1.0, "127.0.0.1", 9, key=key).start()
    shown = str(raised.value)
    assert "ab" * 15 not in shown and SECRET.hex()[4:] not in shown, \
        "the secret is never shown"
    with pytest.raises(error, match=words):
        asyncio.run(trace_client.start_tracer("bad-key", 1.0, "127.0.0.1", 9,
                                              key=key))


def test_a_key_with_legacy_json_raises():
    with pytest.raises(ValueError, match="JSON cannot be signed"):
        Tracer("json-key", 1.0, "127.0.0.1", 9, protocol="json",
               key=KEY).start()
    with pytest.raises(ValueError, match="JSON cannot be signed"):
        _core.Sender("127.0.0.1", 9, uuid.uuid4().bytes, "r", "t", "h", "p",
                     "3", 1, 1, 0, _core.BuiltinReader(), protocol="json",
                     key=(7, SECRET))


@pytest.mark.parametrize("env", [
    {"DOLON_KEY": "7:abc"},
    {"DOLON_KEY": "seven:" + SECRET.hex()},
    {"DOLON_KEY": KEY, "DOLON_PROTOCOL": "json"},
])
def test_a_bad_dolon_key_warns_once_and_traces_nothing(
        env, monkeypatch, fresh_warnings, receiver):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    async def main():
        await trace_client.start_tracer("env-key", 0.02, "127.0.0.1",
                                        receiver.port)
        return "went on"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Tracer("env-key", 0.02, "127.0.0.1", receiver.port) as tracer:
            pass
        assert asyncio.run(main()) == "went on"
    assert tracer.run is None
    assert len(caught) == 1 and "nothing is traced" in str(caught[0].message)
    assert SECRET.hex() not in str(caught[0].message)
    assert receiver.drain(0.1) == []


# A traced job that runs until its own run has ticked WAIT_TICKS times (0:
# not at all), however slowly a busy machine runs the tracer's thread.
TICKING_JOB = WAIT_FOR_TICKS + textwrap.dedent("""
    import os, sys
    from dolon import profiling
    if int(os.environ.get("WAIT_TICKS", "0")):
        wait_for_ticks(profiling.current_run(), int(os.environ["WAIT_TICKS"]))
""")
SCRIPT = TICKING_JOB + textwrap.dedent("""
    print("ran")
    sys.exit(3)
""")


def run_cli(tmp_path, args, env=None):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, "-m", "dolon", "--tracer", "cli-key",
         "--frequency", "0.05"] + args + [str(script)],
        env=dict(os.environ, PYTHONPATH=DOLON_ROOT, **(env or {})),
        capture_output=True, text=True, timeout=30)


def test_cli_key_signs(tmp_path, receiver):
    proc = run_cli(tmp_path, ["--port", str(receiver.port), "--key", KEY],
                   {"WAIT_TICKS": "3"})
    assert proc.returncode == 3 and proc.stdout == "ran\n", proc.stderr
    datagrams = receiver.drain()
    assert datagrams and all(verify(d) for d in datagrams)


@pytest.mark.parametrize("args", [["--key", "7:abc"],
                                  ["--key", KEY, "--protocol", "json"]])
def test_cli_bad_key_is_a_usage_error(tmp_path, args):
    proc = run_cli(tmp_path, args)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert "error:" in proc.stderr and SECRET.hex() not in proc.stderr


def test_cli_bad_dolon_key_runs_the_script(tmp_path, receiver):
    proc = run_cli(tmp_path, ["--port", str(receiver.port)],
                   {"DOLON_KEY": "7:abc"})
    assert proc.returncode == 3 and proc.stdout == "ran\n", proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "dolon: " in line]
    assert len(warned) == 1 and "DOLON_KEY" in warned[0], proc.stderr
    assert receiver.drain(0.1) == []


# -- into pg_mnemic with pg_mnemic.auth = require ---------------------------

def test_signed_run_is_stored_where_signatures_are_required(tmp_path):
    pgtemp = pytest.importorskip("pgtemp")
    with pgtemp.TempCluster(settings={"pg_mnemic.auth": "require",
                                      "pg_mnemic.flush_interval": "50"}) as c:
        key = c.query("SELECT mnemic.add_ingest_key(3)")[0][0]
        c.wait_for("SELECT ingest_keys FROM mnemic.listener_stats()",
                   lambda r: r[0][0] == 1)
        script = tmp_path / "job.py"
        script.write_text(TICKING_JOB)
        env = dict(os.environ, PYTHONPATH=DOLON_ROOT, DOLON_KEY=key,
                   WAIT_TICKS="6")
        for tracer, extra in (("signed-job", []),
                              ("unsigned-job", ["--protocol", "json"])):
            run_env = dict(env)
            if extra:
                del run_env["DOLON_KEY"]
            proc = subprocess.run(
                [sys.executable, "-m", "dolon", "--tracer", tracer,
                 "--frequency", "0.05", "--port", str(c.udp_port)] + extra +
                [str(script)], env=run_env, capture_output=True, text=True,
                timeout=30)
            assert proc.returncode == 0, proc.stderr
        rows = c.wait_for(
            "SELECT r.ended IS NOT NULL, count(*) FILTER (WHERE s.metric = "
            "'thread_count') FROM mnemic.run r JOIN mnemic.tracer t ON "
            "t.id = r.tracer_id JOIN mnemic.samples s ON s.run = r.uuid "
            "WHERE t.name = 'signed-job' GROUP BY r.ended",
            lambda r: r and r[0][0] and r[0][1] >= 5)
        assert rows[0][1] >= 5
        stats = c.wait_for(
            "SELECT unsigned, bad_auth, unknown_key, replayed "
            "FROM mnemic.listener_stats()", lambda r: r[0][0] > 0)
        assert stats[0][1:] == (0, 0, 0)
        assert c.query("SELECT count(*) FROM mnemic.tracer "
                       "WHERE name = 'unsigned-job'") == [(0,)]
        assert c.query("SELECT key_id, datagrams > 0 FROM "
                       "mnemic.ingest_key_usage()") == [(3, True)]
