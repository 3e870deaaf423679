"""Ingest benchmark: how fast the listener stores what arrives on its port.

Prints figures, not pass/fail.  A throw-away cluster (regress/pgtemp.py,
fsync off as in the tests unless BENCH_FSYNC=on; the inserter commits with
synchronous_commit off in any case) receives floods from bench/udpflood.c (compiled here with cc)
on 127.0.0.1 for FLOOD_SECONDS at rising rates:

  legacy  dolon 0.2.0 JSON rows of 3 values, 10 runs, datagrams/s
  v1      binary TICKS datagrams of 16 ticks x 10 values, 10 runs, samples/s

BENCH_RUNS=1000 spreads the same floods over that many runs instead (each
flush then updates that many run rows).

For each rate it prints what was sent and stored, what was lost (and where:
kernel socket buffer or shared ring), and how long the inserter needed after
the flood ended to store the rest ("catch-up").  A rate counts as lossless
when nothing was lost AND the catch-up was under CATCH_UP_LIMIT seconds, so
a flood that merely filled the 64 MB ring does not pass for a sustained rate.

Floor: the block rows the listener wrote at its best lossless v1 rate are
copied out and COPYed into a table of identical layout (mnemic.block with
its index); the ratio listener rate / COPY rate is printed.

Signed: the v1 floods signed with 16-byte tags (udpflood signs each
datagram again after stamping it) at rising rates, pg_mnemic.auth = off and
= require taking turns on one cluster, two floods of each per rate (off,
require, require, off), each mode until it loses.  Printed: the highest
lossless rate of each and their ratio, and the CPU time per datagram of the
receiver and the inserter in each mode (from /proc/PID/schedstat), whose
ratio says what checking costs whatever the machine's other load.

Stall: at 100,000 samples/s (legacy rows of 3 values), another session holds
LOCK TABLE mnemic.block IN ACCESS EXCLUSIVE MODE for 2 s; what was lost is
printed.
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "regress"))
from pgtemp import TempCluster  # noqa: E402
from v1wire import v1_sign  # noqa: E402

FLOOD_SECONDS = float(os.environ.get("FLOOD_SECONDS", "10"))
FSYNC = os.environ.get("BENCH_FSYNC", "off")      # "on" for a durable setup
CATCH_UP_LIMIT = 2.0
RUNS = int(os.environ.get("BENCH_RUNS", "10"))   # runs the floods spread over
LEGACY_RATES = [50000, 100000, 200000, 300000, 400000]    # datagrams/s
V1_TICKS, V1_VALUES = 16, 10
V1_RATES = [500000, 1000000, 1500000, 2000000, 3000000]   # samples/s
FLOOR_ROWS = 50000
AUTH_DROPS = ("bad_auth", "unknown_key", "unsigned", "replayed")
SIGNED_RATES = [100000, 200000, 300000, 400000, 500000, 750000, 1000000,
                1500000, 2000000, 3000000]      # samples/s
SIGNED_ROUNDS = 2       # per mode and rate: off, require, require, off
WORKERS = ("receiver_pid", "inserter_pid")


def build_flood_tool(workdir):
    exe = os.path.join(workdir, "udpflood")
    subprocess.run(["cc", "-O2", "-Wall", "-o", exe,
                    os.path.join(HERE, "udpflood.c"), "-lcrypto"], check=True)
    return exe


def write_templates(path, datagrams):
    with open(path, "wb") as f:
        for d in datagrams:
            f.write(struct.pack("=I", len(d)) + d)


def legacy_templates(runs):
    out = []
    for i in range(max(100, len(runs))):
        run = runs[i % len(runs)]
        out.append(json.dumps({"msg_type": "row",
                               "row_data": [0.25 * i, 1000.0 + i, -i / 7.0],
                               "uuid": str(run)}).encode())
    return out


def legacy_headers(runs):
    return [json.dumps({"msg_type": "create_trace_run", "app_name": "bench",
                        "column_names": ["cpu", "rss", "lag"],
                        "uuid": str(r)}).encode() for r in runs]


def v1_datagram(run, seq, messages):
    return (b"MNEM" + bytes([1, 0]) + struct.pack("<H", len(messages)) +
            run.bytes + struct.pack("<I", seq) + b"".join(messages))


def v1_message(kind, body):
    return struct.pack("<BBH", kind, 0, len(body)) + body


def v1_templates(runs):
    """One TICKS message per datagram (udpflood stamps seq and base time)."""
    out = []
    for run in runs:
        body = struct.pack("<qHHHH", 0, 0, V1_VALUES, V1_TICKS, 0)
        for t in range(V1_TICKS):
            body += struct.pack("<I", t * 1000)
            body += struct.pack("<%dd" % V1_VALUES,
                                *[t * 10.0 + v for v in range(V1_VALUES)])
        out.append(v1_datagram(run, 0, [v1_message(2, body)]))
    return out


def stats(cluster):
    conn = cluster.connect()
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT * FROM mnemic.listener_stats()")
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))
    finally:
        conn.close()


def wait_settled(cluster, timeout=120):
    """Wait until every received datagram has been handled and flushed.

    Returns the stats and how long that took.
    """
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        s = stats(cluster)
        handled = (s["datagrams_decoded"] + s["malformed"] + s["ring_drops"] +
                   sum(s[k] for k in AUTH_DROPS))
        if (handled == s["datagrams_received"] and s["ring_used"] == 0 and
                s["samples_held"] == 0 and last is not None and
                s["samples_stored"] == last["samples_stored"]):
            return s, time.monotonic() - t0
        last = s
        time.sleep(0.1)
    return stats(cluster), time.monotonic() - t0


def flood(tool, cluster, templates, rate, v1, seconds=FLOOD_SECONDS,
          key=None):
    args = [tool, "127.0.0.1", str(cluster.udp_port), str(rate),
            str(seconds), templates] + (["v1"] if v1 else []) + \
        (["key=" + key.hex()] if key else [])
    out = subprocess.run(args, check=True, capture_output=True,
                         text=True).stdout
    return dict((k, float(v)) for k, v in
                (line.split() for line in out.splitlines()))


def cpu_seconds(pid):
    """CPU time of a process, in ns from /proc/PID/schedstat (its stat
    counts in 10 ms ticks, too coarse for a receiver that sleeps most of a
    flood)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e9


def measure(tool, cluster, templates, rate, v1, per_datagram, key=None):
    before, _ = wait_settled(cluster)
    cpu_before = [cpu_seconds(before[w]) for w in WORKERS]
    sent = flood(tool, cluster, templates, rate, v1, key=key)
    after, catch_up = wait_settled(cluster)
    d = {k: after[k] - before[k] for k in
         ("datagrams_received", "samples_stored", "kernel_drops",
          "ring_drops", "malformed", "flush_errors", "lost") + AUTH_DROPS}
    d["receiver_cpu"], d["inserter_cpu"] = [
        cpu_seconds(after[w]) - c for w, c in zip(WORKERS, cpu_before)]
    d["sent"] = int(sent["sent"])
    d["sent_samples"] = d["sent"] * per_datagram
    d["catch_up"] = max(0.0, catch_up - 0.2)    # less the settle polling
    d["lost_pct"] = 100.0 * (1 - d["samples_stored"] / d["sent_samples"])
    d["flush_max_ms"] = after["flush_time_max_ms"]
    d["ring_hw"] = after["ring_high_water"]
    return d


def print_row(label, rate, d):
    print("  %-6s %9d/s  sent %9d  received %9d  stored %10d samples  "
          "lost %6.2f%% (kernel %d, ring %d)  catch-up %.1f s  "
          "stored/s %.0f" %
          (label, rate, d["sent"], d["datagrams_received"],
           d["samples_stored"], d["lost_pct"], d["kernel_drops"],
           d["ring_drops"], d["catch_up"],
           d["samples_stored"] / (FLOOD_SECONDS + d["catch_up"])),
          flush=True)


def lossless(d):
    return (d["samples_stored"] == d["sent_samples"] and
            d["catch_up"] < CATCH_UP_LIMIT)


def rising(tool, cluster, templates, rates, v1, per_datagram, label):
    best = None
    for rate in rates:
        dg_rate = rate // per_datagram if v1 else rate
        d = measure(tool, cluster, templates, dg_rate, v1, per_datagram)
        print_row(label, rate, d)
        if not lossless(d):
            break
        best = rate
    return best


def set_auth(cluster, mode):
    """Reload with pg_mnemic.auth = mode and wait until the receiver has it:
    a legacy JSON probe is decoded under off and dropped under require."""
    cluster.reload(**{"pg_mnemic.auth": mode})
    counter = "unsigned" if mode == "require" else "datagrams_decoded"
    probe = json.dumps({"msg_type": "row", "row_data": [0],
                        "uuid": str(uuid.uuid4())})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = stats(cluster)[counter]
        cluster.send_udp([probe])
        for _ in range(20):
            if stats(cluster)[counter] > before:
                return
            time.sleep(0.05)
    raise RuntimeError("pg_mnemic.auth = %s did not take effect" % mode)


def signed_flood(tool, cluster, work, mode, rate, key):
    """One flood of signed v1 at rate (samples/s) under pg_mnemic.auth =
    mode, with runs of its own (a run's numbers start again at 0 in every
    flood, which require would drop as replays)."""
    per_v1 = V1_TICKS * V1_VALUES
    set_auth(cluster, mode)
    path = os.path.join(work, "signed.bin")
    write_templates(path, [v1_sign(t, 1, key) for t in
                           v1_templates([uuid.uuid4() for _ in range(RUNS)])])
    d = measure(tool, cluster, path, rate // per_v1, True, per_v1, key=key)
    print_row(mode, rate, d)
    print("           CPU: receiver %.2f s, inserter %.2f s; dropped for "
          "auth %d" % (d["receiver_cpu"], d["inserter_cpu"],
                       sum(d[k] for k in AUTH_DROPS)), flush=True)
    return d


def signed_comparison(tool, cluster, work):
    """require against off on the same signed datagrams: rising rates; at
    each, SIGNED_ROUNDS floods per mode with the modes taking turns, and a
    mode holds the rate if one of its floods was lossless (the best of
    them, as the machine's other load comes and goes); each mode goes on
    until it loses."""
    key = os.urandom(32)
    conn = cluster.connect()
    conn.autocommit = True
    conn.cursor().execute("SELECT mnemic.add_ingest_key(1, %s)", (key,))
    conn.close()
    print("signed v1, pg_mnemic.auth off and require taking turns, best of "
          "%d floods per rate (rate in samples/s):" % SIGNED_ROUNDS)
    best = {"off": None, "require": None}
    floods = []                             # (rate, mode, d)
    alive = ["off", "require"]
    for rate in SIGNED_RATES:
        if not alive:
            break
        held = set()
        for r in range(SIGNED_ROUNDS):
            for mode in (alive if r % 2 == 0 else alive[::-1]):
                d = signed_flood(tool, cluster, work, mode, rate, key)
                floods.append((rate, mode, d))
                if lossless(d):
                    held.add(mode)
        for mode in held:
            best[mode] = rate
        alive = [m for m in alive if m in held]
    set_auth(cluster, "off")

    # CPU over the rates both modes ran, so that each mode's fixed costs
    # are spread over the same traffic
    both = ({r for r, m, _ in floods if m == "off"} &
            {r for r, m, _ in floods if m == "require"})
    totals = {}
    for mode in ("off", "require"):
        ds = [d for r, m, d in floods if m == mode and r in both]
        totals[mode] = {k: sum(d[k] for d in ds) for k in
                        ("receiver_cpu", "inserter_cpu", "datagrams_received",
                         "samples_stored")}
        t = totals[mode]
        print("%-7s CPU per datagram: receiver %.2f µs, inserter %.2f µs "
              "(%d datagrams at %s samples/s)" %
              (mode, 1e6 * t["receiver_cpu"] / max(1, t["datagrams_received"]),
               1e6 * t["inserter_cpu"] / max(1, t["datagrams_received"]),
               t["datagrams_received"], ", ".join(str(r) for r in sorted(both))))
    per = {m: (t["receiver_cpu"] + t["inserter_cpu"]) /
           max(1, t["samples_stored"]) for m, t in totals.items()}
    if per["require"] > 0:
        print("listener CPU per stored sample, off / require: %.2f "
              "(what checking signatures costs the listener)" %
              (per["off"] / per["require"]))
    print("highest lossless signed: off %s, require %s samples/s" %
          (best["off"], best["require"]))
    if best["off"]:
        print("ratio require / off lossless rate: %.2f" %
              ((best["require"] or 0) / best["off"]))


def copy_floor(cluster):
    """COPY the stored v1 block rows into an identical table; rows/s and
    samples/s."""
    conn = cluster.connect()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TABLE public.floor_block "
                "(LIKE mnemic.block INCLUDING ALL)")
    cur.execute("CREATE TEMP TABLE floor_source AS SELECT b.* "
                "FROM mnemic.block b JOIN mnemic.metric m ON m.id = b.metric_id"
                " JOIN mnemic.run r ON r.id = m.run_id "
                "WHERE r.protocol = 'v1' LIMIT %d" % FLOOR_ROWS)
    cur.execute("SELECT count(*), sum(n) FROM floor_source")
    rows, samples = cur.fetchone()
    # Binary COPY: the cheapest way in, so the floor is not lowered by
    # parsing hundreds of thousands of timestamps per second from text.
    buf = io.BytesIO()
    cur.copy_expert("COPY floor_source TO STDOUT (FORMAT binary)", buf)
    best = None
    for _ in range(3):
        cur.execute("TRUNCATE public.floor_block")
        buf.seek(0)
        t0 = time.monotonic()
        cur.execute("BEGIN")
        cur.copy_expert("COPY public.floor_block FROM STDIN (FORMAT binary)",
                        buf)
        cur.execute("COMMIT")
        t = time.monotonic() - t0
        best = t if best is None else min(best, t)
    cur.execute("DROP TABLE public.floor_block, floor_source")
    conn.close()
    return rows / best, samples / best, rows, samples


def stall(tool, cluster, templates, label):
    """100,000 samples/s of legacy rows; the block table locked for 2 s."""
    before, _ = wait_settled(cluster)

    def lock_for_two_seconds():
        time.sleep(3)
        conn = cluster.connect()
        cur = conn.cursor()
        cur.execute("LOCK TABLE mnemic.block IN ACCESS EXCLUSIVE MODE")
        time.sleep(2)
        conn.commit()
        conn.close()

    locker = threading.Thread(target=lock_for_two_seconds)
    locker.start()
    sent = flood(tool, cluster, templates, 100000 // 3, False, seconds=8)
    locker.join()
    after, catch_up = wait_settled(cluster)
    sent_samples = int(sent["sent"]) * 3
    stored = after["samples_stored"] - before["samples_stored"]
    print("stall, %s: sent %d samples at 100,000/s, block table locked 2 s: "
          "stored %d, lost %d (kernel %d, ring %d); longest flush %.0f ms" %
          (label, sent_samples, stored, sent_samples - stored,
           after["kernel_drops"] - before["kernel_drops"],
           after["ring_drops"] - before["ring_drops"],
           after["flush_time_max_ms"]), flush=True)


def main():
    work = tempfile.mkdtemp(prefix="mnemic-bench-")
    tool = build_flood_tool(work)
    runs = [uuid.uuid4() for _ in range(RUNS)]
    v1_runs = [uuid.uuid4() for _ in range(RUNS)]
    legacy_file = os.path.join(work, "legacy.bin")
    v1_file = os.path.join(work, "v1.bin")
    write_templates(legacy_file, legacy_templates(runs))
    write_templates(v1_file, v1_templates(v1_runs))
    per_v1 = V1_TICKS * V1_VALUES

    cluster = TempCluster(settings={"fsync": FSYNC})
    cluster.start()
    try:
        cluster.send_udp(legacy_headers(runs))
        s = stats(cluster)
        print("ingest benchmark: %d s floods on 127.0.0.1, fsync %s, "
              "ring %d MB, receive buffer %d bytes (effective), load %.1f" %
              (FLOOD_SECONDS, FSYNC, s["ring_size"] // (1 << 20),
               s["receive_buffer"] or 0, os.getloadavg()[0]), flush=True)

        print("legacy JSON, 3 values per datagram (rate in datagrams/s):")
        best_legacy = rising(tool, cluster, legacy_file, LEGACY_RATES, False,
                             3, "legacy")

        print("binary v1, %d ticks x %d values per datagram "
              "(rate in samples/s):" % (V1_TICKS, V1_VALUES))
        best_v1 = rising(tool, cluster, v1_file, V1_RATES, True, per_v1, "v1")

        rows_s, samples_s, rows, samples = copy_floor(cluster)
        print("COPY floor: %d block rows (%d samples) in %.2f s: "
              "%.0f rows/s, %.0f samples/s" %
              (rows, samples, rows / rows_s, rows_s, samples_s))
        print("highest lossless: legacy %s datagrams/s (%s samples/s), "
              "v1 %s samples/s" %
              (best_legacy, best_legacy and best_legacy * 3, best_v1))
        if best_v1:
            print("ratio v1 lossless rate / COPY floor: %.2f" %
                  (best_v1 / samples_s))
        if best_legacy:
            print("ratio legacy lossless rate / COPY floor: %.2f" %
                  (best_legacy * 3 / samples_s))

        signed_comparison(tool, cluster, work)

        stall(tool, cluster, legacy_file, "ring 64 MB")
    finally:
        cluster.stop()

    # The same stall with the smallest ring: about what a single worker that
    # receives and inserts in turn would suffer, with only the kernel's
    # socket buffer to hold the traffic while the insert waits.
    cluster = TempCluster(settings={"pg_mnemic.ring_size": "1MB",
                                    "fsync": FSYNC})
    cluster.start()
    try:
        cluster.send_udp(legacy_headers(runs))
        stall(tool, cluster, legacy_file, "ring 1 MB")
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
