"""Run every regress/sql/*.sql through pg_regress against a TempCluster.

pg_regress's own --temp-instance runs initdb as the calling user, which
PostgreSQL refuses for root; instead we start a TempCluster with pg_mnemic
preloaded and point pg_regress at it.  pg_regress creates the database
contrib_regression and loads the extension into it before the tests.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgtemp import TempCluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def pg_regress_path():
    pgxs = subprocess.run(["pg_config", "--pgxs"], capture_output=True,
                          text=True, check=True).stdout.strip()
    return os.path.join(os.path.dirname(os.path.dirname(pgxs)),
                        "test", "regress", "pg_regress")


def main():
    tests = sorted(f[:-4] for f in os.listdir(os.path.join(HERE, "sql"))
                   if f.endswith(".sql"))
    if not tests:
        print("pg_regress: no tests")
        return 1
    outdir = os.path.join(ROOT, "build", "regress")
    os.makedirs(outdir, exist_ok=True)
    with TempCluster(dbname=None) as cluster:
        argv = [pg_regress_path(),
                "--inputdir=" + HERE,
                "--outputdir=" + outdir,
                "--bindir=" + subprocess.run(
                    ["pg_config", "--bindir"], capture_output=True,
                    text=True, check=True).stdout.strip(),
                "--host=127.0.0.1", "--port=%d" % cluster.port,
                "--user=postgres", "--dbname=contrib_regression",
                "--load-extension=pg_mnemic"] + tests
        rc = subprocess.run(argv).returncode
        if rc != 0:
            diffs = os.path.join(outdir, "regression.diffs")
            if os.path.exists(diffs):
                with open(diffs, errors="replace") as f:
                    sys.stdout.write(f.read()[:20000])
            tail = cluster.log()[-4000:]
            print("--- server log tail\n" + tail)
    return rc


if __name__ == "__main__":
    sys.exit(main())
