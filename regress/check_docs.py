#!/usr/bin/python3
"""Run every example of docs/sql.md against a fresh cluster.

Each ```sql block of the document is run, in document order, by psql
against a throw-away PostgreSQL 15 cluster (regress/pgtemp.py: database
mnemic, pg_mnemic preloaded and created) after the fixture below is loaded
with mnemic.import_series.  A block fails when psql stops on an error.
A ```text output block that directly follows a ```sql block is that
block's expected output: psql's output must match it line for line
(trailing spaces ignored).  Blocks marked ```sql no-run are skipped.

Every block runs in a session of its own, with the settings the document
states (timezone UTC, ISO dates), from a scratch directory that \\copy
may write to.

    /usr/bin/python3 regress/check_docs.py [docs/sql.md]

prints "docs: N passed, M failed" and exits non-zero when anything failed.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pgtemp import BINDIR, TempCluster  # noqa: E402

DOC = os.path.join(os.path.dirname(HERE), "docs", "sql.md")

# The fixture: three runs of two tracers, every value computed from its
# index so that the document's outputs are the same on every machine.
#   shop-api    11111111-…  2026-03-02 09:00–10:00 UTC, one point a second:
#               cpu_percent, rss_mb, and latency_ms (5 ms slower every ten
#               minutes) with a NULL every 600 points, a NaN at 09:20:34
#               and no points 09:30:10–09:35:09.
#   shop-api    22222222-…  2026-03-03 09:00–09:10 UTC, cpu_percent.
#   nightly-etl 33333333-…  2026-03-02 02:00–04:00 UTC, rows_per_s every 5 s.
# and one profiled run (profile_fixture() below):
#   shop-worker 66666666-…  2026-03-02 10:00:00–10:01:00 UTC, 100 Hz.
FIXTURE = r"""
SELECT mnemic.import_series('shop-api', '11111111-1111-4111-8111-111111111111',
         'cpu_percent',
         array_agg(timestamptz '2026-03-02 09:00:00+00' + i * interval '1 s' ORDER BY i),
         array_agg(round((40 + 30 * sin(i / 300.0) + (i * 7919 % 100) / 10.0)::numeric, 2)::float8
                   ORDER BY i))
FROM generate_series(0, 3599) i;

SELECT mnemic.import_series('shop-api', '11111111-1111-4111-8111-111111111111',
         'rss_mb',
         array_agg(timestamptz '2026-03-02 09:00:00+00' + i * interval '1 s' ORDER BY i),
         array_agg((200 + i / 36)::float8 ORDER BY i))
FROM generate_series(0, 3599) i;

SELECT mnemic.import_series('shop-api', '11111111-1111-4111-8111-111111111111',
         'latency_ms',
         array_agg(timestamptz '2026-03-02 09:00:00+00' + i * interval '1 s' ORDER BY i),
         array_agg(CASE WHEN i = 1234 THEN 'NaN'::float8
                        WHEN i % 600 = 599 THEN NULL
                        ELSE (20 + 5 * (i / 600) + (i * 104729 % 61))::float8 END
                   ORDER BY i))
FROM generate_series(0, 3599) i
WHERE i NOT BETWEEN 1810 AND 2109;

SELECT mnemic.import_series('shop-api', '22222222-2222-4222-8222-222222222222',
         'cpu_percent',
         array_agg(timestamptz '2026-03-03 09:00:00+00' + i * interval '1 s' ORDER BY i),
         array_agg((10 + i % 20)::float8 ORDER BY i))
FROM generate_series(0, 599) i;

SELECT mnemic.import_series('nightly-etl', '33333333-3333-4333-8333-333333333333',
         'rows_per_s',
         array_agg(timestamptz '2026-03-02 02:00:00+00' + i * interval '5 s' ORDER BY i),
         array_agg((1000 + (i * 37 % 500))::float8 ORDER BY i))
FROM generate_series(0, 1439) i;
"""

PROFILED_RUN = "66666666-6666-4666-8666-666666666666"
T0_US = 1772445600 * 1000000        # 2026-03-02 10:00:00 UTC


def profile_fixture():
    """A minute of a small shop worker, profiled at 100 Hz, as the binary
    v1 datagrams a client sends (regress/v1wire.py), for ingest_datagram.

    MainThread handles orders: Cart.total, render_invoice (which calls
    json dumps) and waiting for the next order; Cart.total takes twice the
    time in the second half-minute.  Thread worker mostly waits, and is
    outside Python code one sample in twenty.  Allocations: a dict in
    Cart.total, bytes in render_invoice, a list in handle_order, every
    100 ms; the bytes of every other order are freed again."""
    from v1wire import (alloc_types, allocs, frames, frees, stack_samples,
                        stacks, threads, v1_datagram, v1_describe,
                        v1_message, v1_ticks)
    import struct
    import uuid
    run = uuid.UUID(PROFILED_RUN)
    defs = [
        v1_describe(T0_US, ["orders_per_s"], tracer="shop-worker",
                    host="shop-1", program="python3 -m shop.worker"),
        frames([(1, 1, 0, "<module>", "shop/worker.py"),
                (2, 10, 0, "main", "shop/worker.py"),
                (3, 40, 0, "handle_order", "shop/orders.py"),
                (4, 12, 0, "Cart.total", "shop/cart.py"),
                (5, 30, 0, "render_invoice", "shop/invoice.py"),
                (6, 183, 0, "dumps", "json/__init__.py"),
                (7, 20, 0, "wait_for_order", "shop/queue.py")]),
        stacks([(1, 0, 1, 12), (2, 1, 2, 15), (3, 2, 3, 44), (4, 3, 4, 20),
                (5, 3, 5, 33), (6, 5, 6, 231), (7, 2, 7, 25)]),
        threads([(1, 4242, "MainThread"), (2, 4243, "worker")]),
        alloc_types([(1, "dict"), (2, "bytes"), (3, "list")]),
    ]
    main_rows, worker_rows = [], []
    for i in range(6000):
        slow = i >= 3000
        k = i % 10
        if k < (6 if slow else 3):
            stack, cpu = 4, True
        elif k < (8 if slow else 5):
            stack, cpu = 6, True
        elif k < (9 if slow else 6):
            stack, cpu = 5, True
        else:
            stack, cpu = 7, False
        main_rows.append((i * 10000, stack, 10000, cpu,
                          100_000_000 + i * 1000))
        worker_rows.append((i * 10000 + 5000, 0 if i % 20 == 0 else 7,
                            10000, i % 20 == 0, 0))
    alloc_rows, free_rows = [], []
    for j in range(600):
        alloc_rows += [(j * 100000 + 1000, 4, 1, 65536, 3 * j + 1),
                       (j * 100000 + 2000, 5, 2, 524288, 3 * j + 2),
                       (j * 100000 + 3000, 3, 3, 8192, 3 * j + 3)]
        if j % 2 == 0:
            free_rows.append((j * 100000 + 50000, 3 * j + 2))
    messages = list(defs)
    for n in range(0, 6000, 1000):
        messages.append(stack_samples(T0_US, 1, main_rows[n:n + 1000]))
        messages.append(stack_samples(T0_US, 2, worker_rows[n:n + 1000]))
    for n in range(0, 1800, 900):
        messages.append(allocs(T0_US, 1, alloc_rows[n:n + 900]))
    messages.append(frees(T0_US, free_rows))
    messages.append(v1_ticks(T0_US, [[10.0 + s % 7] for s in range(60)]))
    messages.append(v1_message(3, struct.pack("<q", T0_US + 60_000_000)))
    return "".join(
        "SELECT mnemic.ingest_datagram('\\x%s'::bytea);\n"
        % v1_datagram(run, seq, [m]).hex()
        for seq, m in enumerate(messages))


FENCE = re.compile(r"^```(.*)$")


def blocks(path):
    """[(line, info, text)] of every fenced block, in document order."""
    out = []
    info = None
    start = 0
    body = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line.rstrip("\n"))
            if info is None:
                if m:
                    info, start, body = m.group(1).strip(), n, []
            elif m and not m.group(1).strip():
                out.append((start, info, "".join(body)))
                info = None
            else:
                body.append(line)
    if info is not None:
        raise SystemExit("%s:%d: unterminated code block" % (path, start))
    return out


def examples(path):
    """[(line, sql, expected output or None)] of the blocks to run."""
    found = []
    for line, info, text in blocks(path):
        words = info.split()
        if words[:1] == ["sql"] and "no-run" not in words:
            found.append([line, text, None])
        elif words == ["text", "output"]:
            if not found or found[-1][2] is not None:
                raise SystemExit("%s:%d: output block without its sql block"
                                 % (path, line))
            found[-1][2] = text
    return found


def psql(cluster, sql, cwd):
    env = dict(os.environ, PGTZ="UTC", PGDATESTYLE="ISO, YMD",
               PGCLIENTENCODING="UTF8")
    return subprocess.run(
        [os.path.join(BINDIR, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-d", cluster.dsn, "-f", "-"],
        input=sql, capture_output=True, text=True, cwd=cwd, env=env,
        timeout=300)


def normalized(text):
    return [line.rstrip() for line in text.strip("\n").split("\n")]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DOC
    todo = examples(path)
    passed = failed = 0
    with TempCluster() as cluster, tempfile.TemporaryDirectory() as scratch:
        setup = psql(cluster, FIXTURE + profile_fixture(), scratch)
        if setup.returncode != 0:
            print("fixture failed:\n" + setup.stderr)
            print("docs: 0 passed, %d failed" % len(todo))
            return 1
        for line, sql, expected in todo:
            r = psql(cluster, sql, scratch)
            problem = None
            if r.returncode != 0:
                problem = r.stderr.strip()
            elif expected is not None and \
                    normalized(r.stdout) != normalized(expected):
                problem = "output differs; psql printed:\n" + r.stdout
            if problem:
                failed += 1
                print("FAIL %s:%d\n%s\n" % (path, line, problem))
            else:
                passed += 1
    print("docs: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not todo else 0


if __name__ == "__main__":
    sys.exit(main())
