"""mnemic.import_profile() on files written by profile_files.py from the
formats' published descriptions: every variant a writer may produce gives
the flame graph of the samples it was written from, and every cut or
damaged file is an error that stores nothing.
"""
import collections
import gzip
import os
import random
import sys

import psycopg2
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from pgtemp import TempCluster  # noqa: E402
import profile_files as pf  # noqa: E402

PROGRAM = pf.random_program(7)
START_US = 1772442000000000         # 2026-03-02 09:00:00 UTC


@pytest.fixture(scope="module")
def db():
    with TempCluster() as cluster:
        conn = cluster.connect()
        conn.autocommit = True
        yield conn
        conn.close()


def query(db, sql, *params):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def import_profile(db, fmt, data, tracer="generated"):
    return query(db, "SELECT mnemic.import_profile(%s, %s, %s)",
                 tracer, fmt, psycopg2.Binary(data))[0][0]


def tree(db, run, weight="samples", thread=None):
    """{path of (function, file): total} from mnemic.flamegraph(), nodes
    weighing nothing left out."""
    rows = query(db, "SELECT node, parent, function, file, total FROM "
                     "mnemic.flamegraph(%s, weight => %s, thread => %s)",
                 run, weight, thread)
    paths = {0: ()}
    out = collections.Counter()
    for node, parent, function, file, total in rows:
        if parent is None:
            continue
        paths[node] = paths[parent] + ((function, file),)
        out[paths[node]] += total
    return {k: round(v, 6) for k, v in out.items() if v != 0}


def scaled(expected, factor):
    return {k: round(v * factor, 6) for k, v in expected.items()}


def runs(db):
    return query(db, "SELECT count(*) FROM mnemic.run")[0][0]


def by_thread(samples, thread):
    return [s for s in samples if s.thread == thread]


def collapsed_lines(db, run):
    """The collapsed export, counted as samples, as {line text: count}."""
    text = bytes(query(db, "SELECT mnemic.export_profile(%s, format => 'collapsed', "
                           "weight => 'samples')", run)[0][0]).decode()
    out = collections.Counter()
    for line in text.splitlines():
        stack, count = line.rsplit(" ", 1)
        out[stack] += int(count)
    return out


def expected_lines(samples):
    out = collections.Counter()
    for line in pf.collapsed_file(samples).decode().splitlines():
        stack, count = line.rsplit(" ", 1)
        out[stack] += int(count)
    return out


# -- vmprof --------------------------------------------------------------

VMPROF_VARIANTS = {
    "64-bit, lines and memory": {},
    "64-bit, plain": dict(mode=0),
    "32-bit words": dict(word=4, mode=pf.MODE_LINES),
    "64-bit Windows": dict(word=4, win64=True),
    "gzipped": dict(gzipped=True),
    "symbols first": dict(symbols_last=False),
    "version 3, memory by version": dict(version=3, mode=pf.MODE_MEMORY),
    "version 0, no threads": dict(version=0, mode=0),
    "PyPy": dict(mode=pf.MODE_PYPY),
    "PyPy with JIT entries": dict(mode=pf.MODE_PYPY, pypy_jit=True),
}


@pytest.mark.parametrize("variant", sorted(VMPROF_VARIANTS))
def test_vmprof_variants(db, variant):
    options = VMPROF_VARIANTS[variant]
    run = import_profile(db, "vmprof", pf.vmprof_file(PROGRAM, period_us=2000, **options))
    expected = pf.expected_tree(PROGRAM)
    assert tree(db, run) == expected
    assert tree(db, run, "cpu") == scaled(expected, 0.002)
    mode = options.get("mode", pf.MODE_LINES | pf.MODE_MEMORY)
    if mode & pf.MODE_LINES:
        assert collapsed_lines(db, run) == expected_lines(PROGRAM)


def test_vmprof_native_frames(db):
    program = pf.random_program(8, native_share=0.3)
    assert any(f.native for s in program for f, _ in s.stack)
    for mode in (pf.MODE_NATIVE, pf.MODE_NATIVE | pf.MODE_LINES, pf.MODE_PYPY):
        run = import_profile(db, "vmprof", pf.vmprof_file(program, mode=mode))
        assert tree(db, run) == pf.expected_tree(program), mode


def test_vmprof_time_and_memory(db):
    """The n-th sample at start + n periods; its RSS as the run's memory."""
    program = PROGRAM[:50]
    run = import_profile(db, "vmprof", pf.vmprof_file(
        program, period_us=5000, start_us=START_US, rss_kb=lambda i: 2048 + i))
    n = sum(s.weight for s in program)
    started, ended = query(db, "SELECT extract(epoch FROM started) * 1e6, "
                               "extract(epoch FROM ended) * 1e6 "
                               "FROM mnemic.run_info(%s)", run)[0]
    assert started == START_US
    assert ended == START_US + (n - program[-1].weight) * 5000
    # the tenth record: after the counts of the nine before it
    at = START_US + sum(s.weight for s in program[:9]) * 5000
    rows = query(db, "SELECT rss_bytes, function FROM mnemic.stack_at(%s, "
                     "to_timestamp(%s / 1e6)) ORDER BY depth", run, at)
    assert rows[0][0] == (2048 + 9) * 1024
    assert [r[1] for r in rows] == [f.function for f, _ in program[9].stack]


def test_vmprof_real_time(db):
    """Real-time mode samples every thread each period: time per thread,
    wall time not known to be on CPU."""
    program = [s._replace(weight=1) for s in PROGRAM[:40]]
    run = import_profile(db, "vmprof", pf.vmprof_file(
        program, period_us=1000, mode=pf.MODE_REAL_TIME))
    assert tree(db, run, "cpu") == {}
    assert tree(db, run, "wall") == scaled(pf.expected_tree(program), 0.001)
    first = program[0].thread
    mine = by_thread(program, first)
    ended = query(db, "SELECT max(sampled_at) FROM mnemic.stack_at(%s, "
                      "'2100-01-01', 'thread 1')", run)[0][0]
    started = query(db, "SELECT started FROM mnemic.run_info(%s)", run)[0][0]
    assert (ended - started).total_seconds() == (len(mine) - 1) * 0.001


def test_vmprof_cut_anywhere(db):
    """A file cut anywhere is an error naming a byte, or, cut between two
    stack records, the profile of the records before the cut."""
    program = PROGRAM[:8]
    data = pf.vmprof_file(program, symbols_last=False)
    before = runs(db)
    imported = 0
    for cut in range(len(data)):
        try:
            import_profile(db, "vmprof", data[:cut])
            imported += 1
        except psycopg2.Error as e:
            assert e.pgcode in ("22P03", "22023"), e
            assert "byte" in str(e) or "no samples" in str(e), e
    assert imported == len(program)
    assert runs(db) == before + imported


def test_vmprof_damaged(db):
    data = bytearray(pf.vmprof_file(PROGRAM[:30]))
    rnd = random.Random(3)
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
        before = runs(db)
        try:
            import_profile(db, "vmprof", bytes(damaged))
            assert runs(db) == before + 1
        except psycopg2.Error as e:
            assert e.pgcode in ("22P03", "22023", "22008"), e
            assert runs(db) == before


# -- pprof ---------------------------------------------------------------

PPROF_VARIANTS = {
    "count and nanoseconds": {},
    "not packed": dict(packed=False),
    "inlined frames": dict(inline=True),
    "strings first": dict(strings_first=True),
    "not gzipped": dict(gzipped=False),
    "thread_name label": dict(thread_label="thread_name"),
}


@pytest.mark.parametrize("variant", sorted(PPROF_VARIANTS))
def test_pprof_variants(db, variant):
    run = import_profile(db, "pprof", pf.pprof_file(PROGRAM, **PPROF_VARIANTS[variant]))
    expected = pf.expected_tree(PROGRAM)
    assert tree(db, run) == expected
    assert tree(db, run, "cpu") == scaled(expected, 0.01)
    assert collapsed_lines(db, run) == expected_lines(PROGRAM)
    worker = by_thread(PROGRAM, "worker-1")
    assert tree(db, run, thread="worker-1") == pf.expected_tree(worker)


def test_pprof_sample_types(db):
    """Which value is read: a time first (cpu, then wall), a count, bytes."""
    expected = pf.expected_tree(PROGRAM)
    cpu_only = import_profile(db, "pprof", pf.pprof_file(
        PROGRAM, sample_types=[("cpu", "microseconds")],
        values=lambda s: [s.weight * 20000], period=20000,
        period_type=("cpu", "microseconds")))
    assert tree(db, cpu_only, "cpu") == scaled(expected, 0.02)
    assert tree(db, cpu_only) == expected          # 20 ms each, the period

    wall = import_profile(db, "pprof", pf.pprof_file(
        PROGRAM, sample_types=[("wall", "milliseconds")],
        values=lambda s: [s.weight * 10], period=0))
    assert tree(db, wall, "wall") == scaled(expected, 0.01)
    assert tree(db, wall, "cpu") == {}

    counted = import_profile(db, "pprof", pf.pprof_file(
        PROGRAM, sample_types=[("samples", "count")], values=lambda s: [s.weight],
        period=5, period_type=("cpu", "milliseconds")))
    assert tree(db, counted) == expected
    assert tree(db, counted, "cpu") == scaled(expected, 0.005)

    heap = import_profile(db, "pprof", pf.pprof_file(
        PROGRAM, sample_types=[("alloc_objects", "count"), ("alloc_space", "bytes")],
        values=lambda s: [s.weight, s.weight * 4096]))
    assert tree(db, heap, "alloc") == scaled(expected, 4096)
    assert query(db, "SELECT bytes, count FROM mnemic.allocations_by_type(%s)",
                 heap) == [(4096.0 * sum(s.weight for s in PROGRAM), len(PROGRAM))]


def test_pprof_without_a_readable_type(db):
    before = runs(db)
    with pytest.raises(psycopg2.Error, match="no sample type is a time"):
        import_profile(db, "pprof", pf.pprof_file(
            PROGRAM[:3], sample_types=[("goroutines", "count")],
            values=lambda s: [1]))
    assert runs(db) == before


def test_pprof_cut_and_damaged(db):
    raw = pf.pprof_file(PROGRAM[:20], gzipped=False)
    rnd = random.Random(4)
    damaged = []
    for _ in range(200):
        d = bytearray(raw)
        d[rnd.randrange(len(d))] = rnd.randrange(256)
        damaged.append(bytes(d))
    for data in [raw[:cut] for cut in range(1, len(raw), 3)] + damaged:
        before = runs(db)
        if _imports(db, data):
            assert runs(db) == before + 1
        else:
            assert runs(db) == before


def _imports(db, data):
    """True if data imports as pprof; on an error, it must be a clear one."""
    try:
        import_profile(db, "pprof", data)
        return True
    except psycopg2.Error as e:
        assert e.pgcode in ("22P03", "22023", "22008"), e
        return False


# -- speedscope ----------------------------------------------------------

UNITS = {"nanoseconds": 1e-9, "microseconds": 1e-6, "milliseconds": 1e-3,
         "seconds": 1.0}


@pytest.mark.parametrize("kind", ["sampled", "evented"])
@pytest.mark.parametrize("unit", sorted(UNITS))
def test_speedscope_times(db, kind, unit):
    scale = 0.01 / UNITS[unit]                      # a sample is 10 ms
    run = import_profile(db, "speedscope", pf.speedscope_file(
        PROGRAM, kind=kind, unit=unit, scale=scale, start=12345 * scale))
    expected = pf.expected_tree(PROGRAM)
    assert tree(db, run, "cpu") == scaled(expected, 0.01)
    for thread in ("MainThread", "worker-1"):
        assert tree(db, run, "cpu", thread) == \
            scaled(pf.expected_tree(by_thread(PROGRAM, thread)), 0.01)


def test_speedscope_none_and_bytes(db):
    expected = pf.expected_tree(PROGRAM)
    counted = import_profile(db, "speedscope", pf.speedscope_file(
        PROGRAM, unit="none", scale=1))
    assert tree(db, counted) == expected
    assert tree(db, counted, "cpu") == scaled(expected, 0.01)
    allocated = import_profile(db, "speedscope", pf.speedscope_file(
        PROGRAM, unit="bytes", scale=1000))
    assert tree(db, allocated, "alloc") == scaled(expected, 1000)


def test_speedscope_damaged(db):
    text = pf.speedscope_file(PROGRAM[:10], kind="evented").decode()
    rnd = random.Random(5)
    for _ in range(150):
        i = rnd.randrange(len(text))
        damaged = text[:i] + rnd.choice(['"', "}", "]", ",", "-1", "x", ""]) + text[i + 1:]
        before = runs(db)
        try:
            import_profile(db, "speedscope", damaged.encode())
            assert runs(db) == before + 1
        except psycopg2.Error as e:
            assert e.pgcode in ("22P02", "22023", "22008"), e
            assert "line" in str(e) or "no samples" in str(e), e
            assert runs(db) == before


def test_samples_of_more_than_a_year(db):
    """One number of a file cannot stand for more than a year: the store
    keeps a sample's time in entries of 35 minutes."""
    year = 366 * 24 * 3600
    big = [pf.Sample("MainThread", PROGRAM[0].stack, 1)]
    cases = [
        ("vmprof", pf.vmprof_file([big[0]._replace(weight=2 ** 31 - 1)],
                                  period_us=1000000)),
        ("pprof", pf.pprof_file(big, sample_types=[("cpu", "seconds")],
                                values=lambda s: [year + 1])),
        ("speedscope", pf.speedscope_file(big, unit="seconds", scale=year + 1)),
        ("speedscope", pf.speedscope_file(big, kind="evented", unit="seconds",
                                          scale=year + 1)),
        ("speedscope", pf.speedscope_file(big, unit="none", scale=2 ** 40)),
    ]
    for fmt, data in cases:
        before = runs(db)
        with pytest.raises(psycopg2.Error, match="year|out of range"):
            import_profile(db, fmt, data)
        assert runs(db) == before
    # a year exactly is still a sample
    run = import_profile(db, "pprof", pf.pprof_file(
        big, sample_types=[("samples", "count"), ("cpu", "seconds")],
        values=lambda s: [1, year]))
    total = query(db, "SELECT total FROM mnemic.flamegraph(%s) WHERE node = 0", run)[0][0]
    assert abs(total - year) < 1e-3


def test_samples_of_more_than_a_century_in_all(db):
    """Nor can a file's numbers make the samples stand for more than 100
    years in all: 200 lines of 2^31 - 1 samples of 10 ms are refused."""
    before = runs(db)
    with pytest.raises(psycopg2.Error, match="more than 100 years in all"):
        import_profile(db, "collapsed", b"a;b 2147483647\n" * 200)
    assert runs(db) == before


# -- collapsed -----------------------------------------------------------

def test_collapsed(db):
    run = import_profile(db, "collapsed", pf.collapsed_file(PROGRAM))
    assert tree(db, run) == pf.expected_tree(PROGRAM)
    assert collapsed_lines(db, run) == expected_lines(PROGRAM)
    assert tree(db, run, "cpu") == scaled(pf.expected_tree(PROGRAM), 0.01)


def test_gzipped_anything(db):
    """Any format may come gzipped."""
    for fmt, data in (("collapsed", pf.collapsed_file(PROGRAM)),
                      ("speedscope", pf.speedscope_file(PROGRAM))):
        run = import_profile(db, fmt, gzip.compress(data))
        assert tree(db, run, "cpu") == scaled(pf.expected_tree(PROGRAM), 0.01), fmt
