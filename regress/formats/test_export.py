"""mnemic.export_profile() read back by the formats' own readers: each
speedscope and pprof export goes through readback.mjs (pprof-format, and
the JSON schema of the speedscope package, in node), and what the reader
finds must be the flame graph mnemic answers for the same window and
weight, in the export's unit.
"""
import collections
import json
import os
import subprocess
import sys

import psycopg2
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from pgtemp import TempCluster  # noqa: E402
import profile_files as pf  # noqa: E402
from test_import import import_profile, query, tree  # noqa: E402

PROGRAM = pf.random_program(11, nsamples=200)
HOSTILE = pf.Frame('we"ird\\ <b>&amp;</b> \t é中 \U0001F600', "dir/it's.py", 7)

# the pprof sample type and speedscope unit of each weight
PPROF_TYPES = {"cpu": ("cpu", "microseconds"), "wall": ("wall", "microseconds"),
               "samples": ("samples", "count"), "alloc": ("alloc_space", "bytes"),
               "inuse": ("inuse_space", "bytes")}
SPEEDSCOPE_UNITS = {"cpu": "microseconds", "wall": "microseconds",
                    "samples": "none", "alloc": "bytes", "inuse": "bytes"}
# flamegraph() values to the export's integer unit
SCALE = {"cpu": 1e6, "wall": 1e6, "samples": 1, "alloc": 1, "inuse": 1}


@pytest.fixture(scope="module")
def db():
    if not os.path.isdir(os.path.join(HERE, "node_modules", "pprof-format")):
        pytest.fail("npm packages missing: run make -C regress/formats check")
    with TempCluster() as cluster:
        conn = cluster.connect()
        conn.autocommit = True
        yield conn
        conn.close()


@pytest.fixture(scope="module")
def runs(db):
    hostile = [pf.Sample("MainThread", ((HOSTILE, 9),), 3)]
    return {
        "cpu": import_profile(db, "pprof", pf.pprof_file(PROGRAM + hostile)),
        "wall": import_profile(db, "vmprof", pf.vmprof_file(
            PROGRAM, period_us=1000, mode=pf.MODE_REAL_TIME)),
        "alloc": import_profile(db, "pprof", pf.pprof_file(
            PROGRAM, sample_types=[("alloc_space", "bytes")],
            values=lambda s: [s.weight * 1000])),
    }


def read_back(tmp_path, fmt, data):
    path = tmp_path / ("export." + fmt)
    path.write_bytes(data)
    r = subprocess.run(["node", os.path.join(HERE, "readback.mjs"), fmt, str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def tree_of(stacks):
    """{path of (function, file): total} of the reader's stacks."""
    totals = collections.Counter()
    for frames, value in stacks:
        path = tuple(tuple(f) for f in frames)
        for d in range(1, len(path) + 1):
            totals[path[:d]] += value
    return {k: v for k, v in totals.items() if v != 0}


def expected(db, run, weight, t_from=None, t_to=None):
    rows = query(db, "SELECT node, parent, function, file, total FROM "
                     "mnemic.flamegraph(%s, %s, %s, %s)", run, t_from, t_to, weight)
    paths = {0: ()}
    out = collections.Counter()
    for node, parent, function, file, total in rows:
        if parent is not None:
            paths[node] = paths[parent] + ((function, file),)
            out[paths[node]] += round(total * SCALE[weight])
    return {k: v for k, v in out.items() if v != 0}


def export(db, run, fmt, weight, t_from=None, t_to=None):
    return bytes(query(db, "SELECT mnemic.export_profile(%s, %s, %s, %s, %s)",
                       run, t_from, t_to, fmt, weight)[0][0])


CASES = [("cpu", "cpu"), ("cpu", "samples"), ("cpu", "wall"), ("wall", "wall"),
         ("wall", "samples"), ("alloc", "alloc"), ("alloc", "inuse")]


@pytest.mark.parametrize("run_name,weight", CASES)
@pytest.mark.parametrize("fmt", ["pprof", "speedscope"])
def test_export_read_back(db, runs, tmp_path, fmt, run_name, weight):
    run = runs[run_name]
    got = read_back(tmp_path, fmt, export(db, run, fmt, weight))
    if fmt == "pprof":
        assert (got["type"], got["unit"]) == PPROF_TYPES[weight]
    else:
        assert got["unit"] == SPEEDSCOPE_UNITS[weight]
    want = expected(db, run, weight)
    assert want, "the case must export something"
    assert tree_of(got["stacks"]) == want


@pytest.mark.parametrize("fmt", ["pprof", "speedscope"])
def test_export_window(db, runs, tmp_path, fmt):
    run = runs["cpu"]
    start, end = query(db, "SELECT started, ended FROM mnemic.run_info(%s)", run)[0]
    t_from = start + (end - start) / 3
    t_to = start + (end - start) * 2 / 3
    got = read_back(tmp_path, fmt, export(db, run, fmt, "cpu", t_from, t_to))
    want = expected(db, run, "cpu", t_from, t_to)
    assert want and want != expected(db, run, "cpu")
    assert tree_of(got["stacks"]) == want


@pytest.mark.parametrize("fmt", ["pprof", "speedscope"])
def test_hostile_names(db, runs, tmp_path, fmt):
    """Quotes, backslashes, markup, tabs and characters beyond the BMP
    come back as they went in."""
    got = read_back(tmp_path, fmt, export(db, runs["cpu"], fmt, "samples"))
    names = {f[0]: f[1] for frames, _ in got["stacks"] for f in frames}
    assert names[HOSTILE.function] == HOSTILE.file


def test_empty_window(db, runs, tmp_path):
    """A window without samples is a valid file without samples."""
    for fmt in ("pprof", "speedscope"):
        got = read_back(tmp_path, fmt, export(db, runs["cpu"], fmt, "cpu",
                                              "2000-01-01", "2000-01-02"))
        assert got["stacks"] == []


def test_bad_export_arguments(db, runs):
    with pytest.raises(psycopg2.Error, match='unknown profile format "vmprof"'):
        export(db, runs["cpu"], "vmprof", "cpu")
    with pytest.raises(psycopg2.Error, match="weight"):
        export(db, runs["cpu"], "pprof", "bogus")
