#!/usr/bin/env python3
"""Browser tests of the mnemic UI: a real cluster, data over real UDP, the
real mnemic-web, and Debian's Chromium driven by playwright-core
(ui.test.mjs).  This script sets the stage and hands the addresses over in
the environment; the node script prints one line per test and a count."""
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import webserver  # noqa: E402
from webserver import ARTIFACTS, TempCluster, WebServer  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
START = 1704067200.0


def main():
    cluster = TempCluster()
    web = None
    guarded = None
    secrets = tempfile.TemporaryDirectory(prefix="mnemic-web-tls-")
    try:
        cluster.start()
        ui_run = webserver.send_legacy_run(
            cluster, "web-ui-test", ["cpu", "mem", "threads"],
            [[10 + math.sin(i / 3) * 5, 200 + i, 4 + (i % 3)] for i in range(30)])
        hostile_run = webserver.send_legacy_run(
            cluster, HOSTILE, ["<b>bold</b>", "x\"'&;"], [[1, 2], [3, 4], [5, 6]])
        older = webserver.import_run(
            cluster, "compare-me", {"load": lambda i: math.cos(i / 40)}, START, 2000)
        newer = webserver.import_run(
            cluster, "compare-me", {"load": lambda i: math.sin(i / 40)}, START + 7200, 2000)
        live_run = webserver.send_legacy_run(cluster, "web-live-test", ["ticks"],
                                             [[i] for i in range(5)])
        web = WebServer(cluster.uri(user=webserver.reader_role(cluster))).start()
        auth_file = webserver.write_digest_file(os.path.join(secrets.name, "htdigest"),
                                                "mnemic", {"viewer": "s3cret pass"})
        guarded = WebServer(cluster.uri(user=webserver.reader_role(cluster)),
                            tls_cert=webserver.make_tls_cert(secrets.name),
                            extra_args=["--auth-file", auth_file]).start()
        os.makedirs(ARTIFACTS, exist_ok=True)
        env = dict(os.environ, BASE_URL=web.base_url, UDP_PORT=str(cluster.udp_port),
                   UI_RUN=ui_run, HOSTILE_RUN=hostile_run, HOSTILE_TRACER=HOSTILE,
                   COMPARE_OLDER=older, COMPARE_NEWER=newer, LIVE_RUN=live_run,
                   GUARDED_URL=guarded.base_url, GUARDED_USER="viewer",
                   GUARDED_PASSWORD="s3cret pass", ARTIFACTS=ARTIFACTS)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui.test.mjs")
        return subprocess.run(["node", script], env=env, timeout=300).returncode
    finally:
        for server in (web, guarded):
            if server is not None:
                server.stop()
        cluster.stop()
        secrets.cleanup()


if __name__ == "__main__":
    sys.exit(main())
