"""Benchmark mnemic.import_profile(): how fast do profile files come in?

Writes two files to /tmp with regress/formats/profile_files.py (removed
afterwards): a collapsed stacks file of BENCH_COLLAPSED_MB megabytes
(default 100) and a vmprof file of BENCH_VMPROF_SAMPLES samples (default
1,000,000; CPython, memory mode, 8-byte words), both drawn from 2,000
distinct stacks of depth 30 over 300 functions.  Each is imported from the
server's side (pg_read_binary_file, so the client's transfer is not
counted), BENCH_PROFILE_CALLS times (default 3): the first import stores
every frame and stack, the next ones find them stored (frames and stacks
are kept once per database), so both are shown.  As a floor, the same run
times md5() of the same file read the same way: one pass over its bytes in
the server.  Prints MB/s, samples/s and the ratio to the floor, never
pass/fail.

Run with `make bench-profiles` (after `make install`).
"""
import os
import random
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "regress"))
sys.path.insert(0, os.path.join(HERE, "..", "regress", "formats"))
from pgtemp import TempCluster  # noqa: E402
import profile_files as pf  # noqa: E402

COLLAPSED_MB = int(os.environ.get("BENCH_COLLAPSED_MB", "100"))
VMPROF_SAMPLES = int(os.environ.get("BENCH_VMPROF_SAMPLES", "1000000"))
CALLS = int(os.environ.get("BENCH_PROFILE_CALLS", "3"))
STACKS = 2000
DEPTH = 30
FUNCTIONS = 300


def stacks(seed=42):
    rnd = random.Random(seed)
    funcs = [pf.Frame("handler_%d" % i, "/srv/app/module_%d.py" % (i % 40),
                      10 + 7 * i) for i in range(FUNCTIONS)]
    out = []
    for _ in range(STACKS):
        out.append(tuple((f, f.first_line + rnd.randint(1, 30))
                         for f in rnd.sample(funcs, DEPTH)))
    return out


def distinct_nodes():
    """Nodes of the stack tree (parent, frame, line) the store writes once."""
    nodes = set()
    for s in stacks():
        for d in range(1, len(s) + 1):
            nodes.add(s[:d])
    return len(nodes)


def write_collapsed(path, target_bytes):
    """Lines of the distinct stacks drawn at random until the size is met."""
    rnd = random.Random(1)
    lines = [pf.collapsed_file([pf.Sample("t", s, 1)])[:-3] for s in stacks()]
    written = 0
    with open(path, "wb") as f:
        while written < target_bytes:
            line = b"%s %d\n" % (rnd.choice(lines), rnd.randint(1, 5))
            f.write(line)
            written += len(line)
    return written


def write_vmprof(path, samples):
    """A vmprof file (see profile_files.Vmprof): each distinct stack's
    record is built once and written again and again."""
    rnd = random.Random(2)
    uids = {}

    def uid(frame):
        return uids.setdefault(frame, 0x7f0000001000 + 0x40 * len(uids))

    def records_of(build):
        w = pf.Vmprof(1000)
        w.out = bytearray()             # without the five words
        build(w)
        return bytes(w.out)

    records = [records_of(lambda w, s=s: w.stack(
        [uid(f) for f, _ in reversed(s)], thread=0x7f0000100000, rss_kb=50000))
        for s in stacks()]
    head = pf.Vmprof(1000)
    head.header(6, pf.MODE_MEMORY)
    head.time(1772442000000000)
    with open(path, "wb") as f:
        f.write(head.bytes())
        for _ in range(samples):
            f.write(records[rnd.randrange(STACKS)])
        f.write(records_of(lambda w: [
            w.code(u, b"py:%s:%d:%s" % (fr.function.encode(), fr.first_line,
                                        fr.file.encode()))
            for fr, u in uids.items()]))
        f.write(records_of(lambda w: w.trailer(1772442000000000 + samples * 1000)))
    return os.path.getsize(path)


def timed(cur, sql, params):
    started = time.perf_counter()
    cur.execute(sql, params)
    cur.fetchall()
    return time.perf_counter() - started


def measure(cur, fmt, path, size, samples):
    """The first import (every frame and stack new to the database), then
    the median of the others (the store finds them stored already)."""
    floor = statistics.median(timed(cur, "SELECT md5(pg_read_binary_file(%s))",
                                    (path,)) for _ in range(CALLS))
    sql = "SELECT mnemic.import_profile('bench', %s, pg_read_binary_file(%s))"
    times = [timed(cur, sql, (fmt, path)) for _ in range(CALLS)]
    mb = size / 1e6
    for what, took in (("first", times[0]),
                       ("again", statistics.median(times[1:] or times))):
        print("  %-9s %-5s %6.1f MB %8d samples  %6.2f s  %6.1f MB/s  "
              "%8.0f samples/s  import/floor %.3f (floor: md5 of the file, "
              "%.0f MB/s)" % (fmt, what, mb, samples, took, mb / took,
                              samples / took, floor / took, mb / floor),
              flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="mnemic-bench-profiles-")
    os.chmod(tmp, 0o755)
    collapsed = os.path.join(tmp, "bench.collapsed")
    vmprof = os.path.join(tmp, "bench.prof")
    try:
        print("writing %d MB of collapsed stacks and %d vmprof samples to %s"
              % (COLLAPSED_MB, VMPROF_SAMPLES, tmp), flush=True)
        csize = write_collapsed(collapsed, COLLAPSED_MB * 1000000)
        with open(collapsed, "rb") as f:
            clines = sum(1 for _ in f)
        vsize = write_vmprof(vmprof, VMPROF_SAMPLES)
        for p in (collapsed, vmprof):
            os.chmod(p, 0o644)
        with TempCluster() as cluster:
            conn = cluster.connect()
            conn.autocommit = True
            cur = conn.cursor()
            print("import_profile (%d distinct stacks of depth %d, %d nodes "
                  "of the stack tree); again: median of %d more calls:"
                  % (STACKS, DEPTH, distinct_nodes(), CALLS - 1))
            measure(cur, "collapsed", collapsed, csize, clines)
            measure(cur, "vmprof", vmprof, vsize, VMPROF_SAMPLES)
            conn.close()
    finally:
        for p in (collapsed, vmprof):
            if os.path.exists(p):
                os.unlink(p)
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
