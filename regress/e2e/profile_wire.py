"""A model of a sampled program that knows the flame graph it must give,
sent as binary v1 profile messages (regress/v1wire.py).

The model is written from the protocol document, not from the server: it
is what the end-to-end tests compare mnemic.flamegraph() against.
"""
import random

from v1wire import frames, stack_samples, stacks, threads


class Program:
    """A random program: frames, a tree of stacks over them, threads, and
    samples of those threads, with the flame graph they add up to."""

    def __init__(self, seed, nframes=40, nstacks=300, max_depth=30,
                 nthreads=8):
        rng = random.Random(seed)
        self.rng = rng
        # Some functions share a name in different files, and one name is
        # hostile: the graph keys on (function, file, line).
        self.frames = [(i, 10 * i, 0, "f%d" % (i % 25),
                        "mod%d.py" % (i % 3)) for i in range(1, nframes + 1)]
        self.frames.append((nframes + 1, 1, 0, "weird'\"\\\t name", "ü.py"))
        self.stacks = []            # (id, parent, frame, line)
        self.path = {0: ()}         # stack -> ((function, file, line), ...)
        by_id = {f[0]: f for f in self.frames}
        for sid in range(1, nstacks + 1):
            parents = [s for s in self.path
                       if len(self.path[s]) < max_depth]
            parent = rng.choice(parents) if sid > 1 else 0
            frame = rng.choice(self.frames)[0]
            line = rng.randint(1, 500)
            self.stacks.append((sid, parent, frame, line))
            f = by_id[frame]
            self.path[sid] = self.path[parent] + ((f[3], f[4], f[1]),)
        self.threads = [(t, 1000 + t, "thread-%d" % t)
                        for t in range(1, nthreads + 1)]
        self.samples = []           # (thread, ts µs, stack, weight, cpu)

    def sample(self, t0_us, count, interval_us=10_000):
        """count samples per thread, interval_us apart, from t0_us."""
        for tid, _, _ in self.threads:
            for k in range(count):
                stack = self.rng.choice([s[0] for s in self.stacks] + [0])
                self.samples.append((tid, t0_us + k * interval_us, stack,
                                     interval_us, self.rng.random() < 0.7))

    def definitions(self, per_message=200):
        """Messages defining every frame, stack and thread."""
        out = [threads(self.threads)]
        for i in range(0, len(self.frames), 50):
            out.append(frames(self.frames[i:i + 50]))
        for i in range(0, len(self.stacks), per_message):
            out.append(stacks(self.stacks[i:i + per_message]))
        return out

    def sample_messages(self, per_message=500):
        """STACK_SAMPLES messages, one thread each, all samples."""
        out = []
        by_thread = {}
        for s in self.samples:
            by_thread.setdefault(s[0], []).append(s)
        for tid, rows in sorted(by_thread.items()):
            for i in range(0, len(rows), per_message):
                chunk = rows[i:i + per_message]
                base = chunk[0][1]
                out.append(stack_samples(base, tid, [
                    (ts - base, stack, w, cpu, 50_000_000 + ts % 1000)
                    for _, ts, stack, w, cpu in chunk]))
        return out

    def flame(self, weight="cpu", t_from=None, t_to=None, thread=None):
        """{path of (function, file, line): (self, total)} in seconds or
        sample counts, the root being the empty path."""
        graph = {}
        for tid, ts, stack, w, cpu in self.samples:
            if thread is not None and tid != thread:
                continue
            if t_from is not None and ts < t_from or \
                    t_to is not None and ts > t_to:
                continue
            v = {"cpu": w / 1e6 if cpu else 0.0, "wall": w / 1e6,
                 "samples": 1}[weight]
            path = self.path[stack] if stack else \
                (("(no Python frame)", None, None),)
            for d in range(len(path) + 1):
                s, t = graph.get(path[:d], (0, 0))
                graph[path[:d]] = (s + (v if d == len(path) else 0), t + v)
        return graph


def flame_of(cluster, run, weight="cpu", t_from=None, t_to=None,
             thread=None):
    """mnemic.flamegraph() as the model's {path: (self, total)}."""
    rows = cluster.query(
        "SELECT node, parent, function, file, line, self, total"
        " FROM mnemic.flamegraph(%s, %s, %s, %s, %s)",
        (str(run), t_from, t_to, weight, thread))
    path = {}
    graph = {}
    for node, parent, function, file, line, self_, total in sorted(rows):
        path[node] = () if parent is None else \
            path[parent] + ((function, file, line),)
        graph[path[node]] = (self_, total)
    return graph


def graph_diff(got, want, tolerance=1e-6):
    """Where two {path: (self, total)} disagree (zero-weight paths aside):
    a few (path, got, want), shallowest first; empty when they agree."""
    keys = {k for k, v in got.items() if v != (0, 0)} | \
        {k for k, v in want.items() if v != (0, 0)}
    out = []
    for k in sorted(keys, key=lambda k: (len(k), repr(k))):
        g, w = got.get(k, (0, 0)), want.get(k, (0, 0))
        if abs(g[0] - w[0]) > tolerance or abs(g[1] - w[1]) > tolerance:
            out.append((k, g, w))
    return out[:3]
