"""Profiled runs for the web tests and the benchmark, as the binary v1
datagrams a profiling client sends (regress/v1wire.py, docs/protocol.md),
stored with mnemic.ingest_datagram() as if they came over UDP.

    p = Profile("shop-worker")
    main = p.thread("MainThread")
    for i in range(100):
        p.sample(main, i * 10_000, [("main", "app.py", 1), ("work", "app.py", 9)])
    run = p.ingest(cluster)

A path is the stack from the outermost frame: (function, file, first line)
per frame; the line executed in each is the first line + 1.  Times are
microseconds from the profile's start.
"""
import os
import struct
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "regress"))

from v1wire import (alloc_types, allocs, frames, frees, stack_samples,  # noqa: E402
                    stacks, threads, v1_datagram, v1_describe, v1_message, v1_ticks)

START_US = 1772445600 * 1000000         # 2026-03-02 10:00:00 UTC
END = 3                                 # the end-of-run message
# A message body's length is 16 bits; rows of these sizes fit in one.
SAMPLE_ROWS = 3000                      # 21 bytes each
ALLOC_ROWS = 2000                       # 28 bytes each
FREE_ROWS = 5000                        # 12 bytes each
DEFINITION_BYTES = 30000


class Profile:
    def __init__(self, tracer, run=None, start_us=START_US):
        self.tracer = tracer
        self.run = uuidlib.UUID(str(run)) if run else uuidlib.uuid4()
        self.start_us = start_us
        self.frame_ids = {}
        self.frame_rows = []
        self.stack_ids = {}
        self.stack_rows = []
        self.thread_rows = []
        self.type_ids = {}
        self.samples = {}               # thread -> [(µs, stack, weight, cpu, rss)]
        self.alloc_rows = {}            # thread -> [(µs, stack, type, bytes, id)]
        self.free_rows = []
        self.last_us = 0

    def thread(self, name):
        tid = len(self.thread_rows) + 1
        self.thread_rows.append((tid, 4000 + tid, name))
        self.samples[tid] = []
        self.alloc_rows[tid] = []
        return tid

    def stack(self, path):
        """The id of the stack of path (0: no Python frame)."""
        parent = 0
        for function, file, line in path:
            key = (function, file, line)
            if key not in self.frame_ids:
                self.frame_ids[key] = len(self.frame_rows) + 1
                self.frame_rows.append((self.frame_ids[key], line, 0, function, file))
            skey = (parent, self.frame_ids[key])
            if skey not in self.stack_ids:
                self.stack_ids[skey] = len(self.stack_rows) + 1
                self.stack_rows.append((self.stack_ids[skey], parent, self.frame_ids[key],
                                        line + 1))
            parent = self.stack_ids[skey]
        return parent

    def sample(self, thread, t_us, path, weight_us=10000, on_cpu=True, rss=0):
        self.samples[thread].append((t_us, self.stack(path), weight_us, on_cpu, rss))
        self.last_us = max(self.last_us, t_us + weight_us)

    def alloc(self, thread, t_us, path, type_name, nbytes):
        if type_name not in self.type_ids:
            self.type_ids[type_name] = len(self.type_ids) + 1
        aid = sum(len(r) for r in self.alloc_rows.values()) + 1
        self.alloc_rows[thread].append((t_us, self.stack(path), self.type_ids[type_name],
                                        nbytes, aid))
        self.last_us = max(self.last_us, t_us)
        return aid

    def free(self, t_us, alloc_id):
        self.free_rows.append((t_us, alloc_id))

    # -- wire ----------------------------------------------------------------
    def _definitions(self):
        """Frames, stacks, threads and types, split to fit messages."""
        # A run describes at least one metric: a tick count, once a second.
        out = [v1_describe(self.start_us, ["ticks"], tracer=self.tracer, host="web-test",
                           program="python3 -m app")]
        chunk, size = [], 0
        for row in self.frame_rows:
            n = 11 + len(row[3].encode()) + len(row[4].encode())
            if chunk and size + n > DEFINITION_BYTES:
                out.append(frames(chunk))
                chunk, size = [], 0
            chunk.append(row)
            size += n
        if chunk:
            out.append(frames(chunk))
        for i in range(0, len(self.stack_rows), 3000):
            out.append(stacks(self.stack_rows[i:i + 3000]))
        out.append(threads(self.thread_rows))
        if self.type_ids:
            out.append(alloc_types([(i, n) for n, i in self.type_ids.items()]))
        return out

    def _timed(self, rows, per_message, make):
        """Messages of rows sorted by time, each with its own base time so
        that offsets stay small."""
        rows = sorted(rows)
        for i in range(0, len(rows), per_message):
            part = rows[i:i + per_message]
            base = part[0][0]
            yield make(self.start_us + base, [(r[0] - base,) + tuple(r[1:]) for r in part])

    def messages(self):
        out = self._definitions()
        for tid, rows in self.samples.items():
            out += self._timed(rows, SAMPLE_ROWS,
                               lambda base, part, tid=tid: stack_samples(base, tid, part))
        for tid, rows in self.alloc_rows.items():
            out += self._timed(rows, ALLOC_ROWS,
                               lambda base, part, tid=tid: allocs(base, tid, part))
        out += self._timed(self.free_rows, FREE_ROWS, frees)
        seconds = max(1, self.last_us // 1000000)
        for first in range(0, seconds, 1000):
            out.append(v1_ticks(self.start_us + first * 1000000,
                                [[float(s)] for s in range(first, min(seconds, first + 1000))]))
        out.append(v1_message(END, struct.pack("<q", self.start_us + self.last_us)))
        return out

    def datagrams(self):
        return [v1_datagram(self.run, seq, [m]) for seq, m in enumerate(self.messages())]

    def ingest(self, cluster, rollups=True):
        """Store every datagram in one transaction; the run's uuid."""
        conn = cluster.connect()
        try:
            cur = conn.cursor()
            for d in self.datagrams():
                cur.execute("SELECT mnemic.ingest_datagram(%s)", (d,))
            conn.commit()
            if rollups:
                cur.execute("SELECT mnemic.build_profile_rollups(%s::uuid)", (str(self.run),))
                conn.commit()
        finally:
            conn.close()
        return str(self.run)


def shop_worker(tracer="shop-worker", seconds=60, run=None, slows_down=True):
    """A small shop worker at 100 Hz, as docs/sql.md's fixture: MainThread
    handles orders (Cart.total, render_invoice calling dumps, waiting),
    Cart.total twice as slow in the second half; thread worker waits and
    is outside Python code one sample in twenty.  RSS grows 1 kB a sample.
    Allocations every 100 ms: a dict in Cart.total, bytes in
    render_invoice, a list in handle_order; every other bytes is freed.
    Without slows_down, Cart.total stays fast all along."""
    p = Profile(tracer, run=run)
    main, worker = p.thread("MainThread"), p.thread("worker")
    base = [("<module>", "shop/worker.py", 1), ("main", "shop/worker.py", 10)]
    order = base + [("handle_order", "shop/orders.py", 40)]
    cart = order + [("Cart.total", "shop/cart.py", 12)]
    invoice = order + [("render_invoice", "shop/invoice.py", 30)]
    dumps = invoice + [("dumps", "json/__init__.py", 183)]
    wait = base + [("wait_for_order", "shop/queue.py", 20)]
    n = seconds * 100
    for i in range(n):
        slow = slows_down and i >= n // 2
        k = i % 10
        if k < (6 if slow else 3):
            path, cpu = cart, True
        elif k < (8 if slow else 5):
            path, cpu = dumps, True
        elif k < (9 if slow else 6):
            path, cpu = invoice, True
        else:
            path, cpu = wait, False
        p.sample(main, i * 10000, path, 10000, cpu, 100_000_000 + i * 1000)
        p.sample(worker, i * 10000 + 5000, [] if i % 20 == 0 else wait, 10000,
                 i % 20 == 0, 0)
    for j in range(n // 10):
        p.alloc(main, j * 100000 + 1000, cart, "dict", 65536)
        b = p.alloc(main, j * 100000 + 2000, invoice, "bytes", 524288)
        p.alloc(main, j * 100000 + 3000, order, "list", 8192)
        if j % 2 == 0:
            p.free(j * 100000 + 50000, b)
    return p
