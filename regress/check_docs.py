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
        setup = psql(cluster, FIXTURE, scratch)
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
