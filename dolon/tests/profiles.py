"""What a profiled run sent, put back together for the tests.

Datagrams are read by the tests' own decoder (v1decode.py, independent of
dolon's C code) and gathered per run: the definitions (frames, stacks,
threads, types, the last one of each id wins, as on the server) and the
samples.  The questions the tests ask -- shares by function, top
allocators, in-use memory at a time -- are answered here in plain Python,
the way the database will answer them in SQL (mnemic.flamegraph,
mnemic.top_functions): a later version can point these helpers at it.
"""
import collections
import math
import socket
import time

import v1decode


class Run:
    """Everything one run sent."""

    def __init__(self, run_id):
        self.id = run_id
        self.seqs = []
        self.sizes = []
        self.datagrams = []        # as received
        self.describes = []
        self.ticks = []            # (ts_us, first_metric, values)
        self.ended = False
        self.frames = {}
        self.stacks = {}
        self.threads = {}
        self.types = {}
        self.samples = []          # dicts: thread, ts_us, stack, weight_us, flags, rss
        self.allocs = []           # dicts: thread, ts_us, stack, type, bytes, alloc_id
        self.frees = []            # dicts: ts_us, alloc_id
        self.definition_times = collections.defaultdict(list)

    # -- reading ----------------------------------------------------------
    def add(self, decoded, size, received_at):
        self.seqs.append(decoded["seq"])
        self.sizes.append(size)
        for m in decoded["messages"]:
            kind = m["kind"]
            if kind == "describe":
                self.describes.append(m)
            elif kind == "ticks":
                for t in m["ticks"]:
                    self.ticks.append((m["base_us"] + t["offset_us"],
                                       m["first_metric"], t["values"]))
            elif kind == "end":
                self.ended = True
            elif kind in ("frames", "stacks", "threads", "alloc_types"):
                table = {"frames": self.frames, "stacks": self.stacks,
                         "threads": self.threads,
                         "alloc_types": self.types}[kind]
                for e in m["entries"]:
                    table[e["id"]] = e
                    self.definition_times[(kind, e["id"])].append(received_at)
            elif kind == "stack_samples":
                for e in m["entries"]:
                    self.samples.append(dict(e, thread=m["thread"],
                                             ts_us=m["base_us"] + e["offset_us"]))
            elif kind == "allocs":
                for e in m["entries"]:
                    self.allocs.append(dict(e, thread=m["thread"],
                                            ts_us=m["base_us"] + e["offset_us"]))
            elif kind == "frees":
                for e in m["entries"]:
                    self.frees.append(dict(e, ts_us=m["base_us"] + e["offset_us"]))

    @property
    def pid(self):
        return self.describes[0]["pid"] if self.describes else None

    @property
    def metric_names(self):
        names = {}
        for d in self.describes:
            for i, n in enumerate(d["metrics"]):
                names[d["first_metric"] + i] = n
        return [names[i] for i in sorted(names)]

    # -- stacks -----------------------------------------------------------
    def frames_of(self, stack_id):
        """The frames of a stack, outermost first."""
        out = []
        seen = set()
        while stack_id:
            assert stack_id not in seen, "a cycle in the stack tree"
            seen.add(stack_id)
            node = self.stacks[stack_id]
            out.append(self.frames[node["frame"]])
            stack_id = node["parent"]
        return out[::-1]

    def functions_of(self, stack_id):
        return [f["function"] for f in self.frames_of(stack_id)]

    def thread_named(self, name):
        for t in self.threads.values():
            if t["name"] == name:
                return t["id"]
        raise KeyError(name)

    def samples_of(self, thread=None, since_us=None, until_us=None):
        return [s for s in self.samples
                if (thread is None or s["thread"] == thread)
                and (since_us is None or s["ts_us"] >= since_us)
                and (until_us is None or s["ts_us"] <= until_us)]


def collapsed(run, samples=None, on_cpu=None):
    """Flame graph as collapsed stacks: {"a;b;c": weight_us}."""
    out = collections.Counter()
    for s in run.samples if samples is None else samples:
        if on_cpu is not None and bool(s["flags"] & 1) != on_cpu:
            continue
        out[";".join(run.functions_of(s["stack"]))] += s["weight_us"]
    return out


def function_shares(run, functions, samples=None, on_cpu=True):
    """Of the weight of samples whose stack holds one of `functions`, the
    share of each (inclusive, as a top-functions table counts)."""
    totals = dict.fromkeys(functions, 0)
    for s in run.samples if samples is None else samples:
        if on_cpu is not None and bool(s["flags"] & 1) != on_cpu:
            continue
        names = set(run.functions_of(s["stack"]))
        for f in functions:
            if f in names:
                totals[f] += s["weight_us"]
    whole = sum(totals.values())
    return {f: (w / whole if whole else 0.0) for f, w in totals.items()}


def share_error(run, functions, share, samples=None, on_cpu=True):
    """The standard error of a share function_shares() returned, and the
    effective number of samples behind it.  Each sample is one draw that
    lands in one function or another, weighted by the time it stands for;
    for a share p of such a weighted mean the variance is
    p (1 - p) * sum(w^2) / sum(w)^2 = p (1 - p) / n_eff.  A loaded machine
    delays samples and so makes the weights uneven: n_eff falls below the
    count of samples, and the error grows with it, as it should."""
    weights = []
    for s in run.samples if samples is None else samples:
        if on_cpu is not None and bool(s["flags"] & 1) != on_cpu:
            continue
        if set(run.functions_of(s["stack"])) & set(functions):
            weights.append(s["weight_us"])
    whole = sum(weights)
    n_eff = whole * whole / sum(w * w for w in weights) if whole else 0.0
    if not n_eff:
        return float("inf"), 0.0
    return math.sqrt(share * (1 - share) / n_eff), n_eff


def top_allocators(run):
    """Bytes allocated by innermost Python function, largest first."""
    out = collections.Counter()
    for a in run.allocs:
        names = run.functions_of(a["stack"])
        out[names[-1] if names else "<no Python frame>"] += a["bytes"]
    return out.most_common()


def allocated_types(run, function=None):
    """Bytes by type name, for allocations made inside `function`."""
    out = collections.Counter()
    for a in run.allocs:
        if function is not None and function not in run.functions_of(a["stack"]):
            continue
        out[run.types[a["type"]]["name"] if a["type"] else "<unknown>"] += a["bytes"]
    return out.most_common()


def in_use_bytes(run, at_us, function=None):
    """Bytes allocated by `at_us` and not freed by then."""
    freed = {f["alloc_id"] for f in run.frees if f["ts_us"] <= at_us}
    return sum(a["bytes"] for a in run.allocs
               if a["ts_us"] <= at_us and a["alloc_id"] not in freed
               and (function is None or function in run.functions_of(a["stack"])))


def gather(datagrams):
    """{run uuid: Run} from received datagrams [(bytes, time), ...]."""
    runs = {}
    for data, received_at in datagrams:
        if not data.startswith(b"MNEM"):
            continue
        d = v1decode.decode(data)
        run = runs.setdefault(d["run"], Run(d["run"]))
        run.add(d, len(data), received_at)
        run.datagrams.append(data)
    return runs


def receive_until(sock, done, timeout=30.0):
    """Read datagrams from sock until done(runs) holds or timeout passes;
    returns the runs (done is checked whenever the socket is quiet)."""
    received = []
    deadline = time.monotonic() + timeout
    sock.settimeout(0.05)
    while time.monotonic() < deadline:
        try:
            received.append((sock.recv(70000), time.monotonic()))
            continue
        except socket.timeout:
            pass
        runs = gather(received)
        if done(runs):
            return runs
    return gather(received)


def all_ended(count=1):
    """A done() for receive_until: `count` runs have sent END, and every
    stack their samples name is defined."""
    def done(runs):
        ended = [r for r in runs.values() if r.ended]
        if len(ended) < count:
            return False
        for r in ended:
            ids = {s["stack"] for s in r.samples} | {a["stack"] for a in r.allocs}
            if any(i and i not in r.stacks for i in ids):
                return False
        return True
    return done
