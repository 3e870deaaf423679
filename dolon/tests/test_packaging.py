"""`pip install --no-build-isolation ./dolon` builds the C core and the
installed package works (installed into a temporary --target, not the
system site-packages)."""
import os
import subprocess
import sys

from conftest import DOLON_ROOT
from test_wheels import source_version


def test_pip_install_and_import(tmp_path):
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-index", "--no-deps", "--no-cache-dir", "--quiet",
         "--target", str(target), DOLON_ROOT],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    code = ("import dolon, dolon._core as c, asyncio; "
            "from dolon import profiler, trace_client; "
            "f = profiler.profiler(lambda x: x); f(1); "
            "print(dolon.__version__, c.__file__.startswith(%r), "
            "f.stats.hits, asyncio.run(trace_client.thread_count()) >= 1)"
            % str(target))
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    version = source_version()
    assert out.stdout.split() == [version, "True", "1", "True"]
    assert (target / ("dolon-%s.dist-info" % version)).is_dir()
