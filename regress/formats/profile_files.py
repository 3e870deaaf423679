#!/usr/bin/python3
"""Profile files written from the formats' published descriptions.

The import tests, the fuzz seeds and the benchmark make their vmprof,
pprof, speedscope and collapsed files here, independently of pg_mnemic's
C code:

  vmprof      the layout of vmprof-python's writer and reader
              (src/vmprof_common.c, vmprof/reader.py): native words,
              records of a marker byte and packed fields
  pprof       google/pprof's proto/profile.proto, encoded with the
              protocol buffers wire format by hand below
  speedscope  speedscope's src/lib/file-format-spec.ts
  collapsed   "frame;frame;frame count" lines

A profile is a list of Sample(thread, stack, weight): stack is a tuple of
(Frame, line) from the outermost frame, line being the line executed in
that frame (0 unknown).  expected_tree() is what mnemic.flamegraph() must
answer for them, as {((function, file), ...): total}.

    profile_files.py --seeds DIR DATA_DIR REGRESSIONS_DIR

writes fuzz seeds for each format into DIR/<format>/ (regress/formats/Makefile).
"""
import collections
import gzip
import json
import os
import random
import struct
import sys

Frame = collections.namedtuple("Frame", "function file first_line native",
                               defaults=(False,))
Sample = collections.namedtuple("Sample", "thread stack weight")


def expected_tree(samples):
    """{path of (function, file): total weight} of every node of the tree."""
    totals = collections.Counter()
    for s in samples:
        names = tuple((f.function, f.file) for f, _ in s.stack)
        for d in range(1, len(names) + 1):
            totals[names[:d]] += s.weight
    return dict(totals)


# -- vmprof --------------------------------------------------------------

MODE_MEMORY, MODE_LINES, MODE_NATIVE, MODE_PYPY, MODE_REAL_TIME = 1, 2, 4, 8, 16
TAG_CODE, TAG_JITTED, TAG_ASSEMBLER, TAG_NATIVE = 1, 3, 6, 7


class Vmprof:
    """A .prof file, record by record (little-endian, as vmprof writes)."""

    def __init__(self, period_us=1000, word=8, win64=False):
        self.word = word
        self.addr = 8 if win64 else word
        self.out = bytearray()
        for w in (0, 3, 0, period_us, 1 if win64 else 0):
            self._word(w)

    def _word(self, v):
        self.out += struct.pack("<q" if self.word == 8 else "<i", v)

    def _addr(self, v):
        self.out += struct.pack("<q" if self.addr == 8 else "<i", v)

    def header(self, version=6, mode=0, interp=b"cpython"):
        self.out += b"\x05" + struct.pack(">h", version)
        if version >= 4:
            self.out.append(mode)
        self.out += bytes([len(interp)]) + interp

    def time(self, unix_us, marker=6):
        self.out.append(marker)
        self.out += struct.pack("<qq", unix_us // 1000000, unix_us % 1000000)
        self.out += b"\0" * 8

    def meta(self, key, value):
        self.out.append(7)
        for s in (key, value):
            self._word(len(s))
            self.out += s

    def code(self, uid, text, marker=2):
        self.out.append(marker)
        self._addr(uid)
        self._word(len(text))
        self.out += text

    def stack(self, entries, thread=None, rss_kb=None, count=1):
        self.out.append(1)
        self._word(count)
        self._word(len(entries))
        for e in entries:
            self._addr(e)
        if thread is not None:
            self._addr(thread)
        if rss_kb is not None:
            self._addr(rss_kb)

    def trailer(self, unix_us=None):
        if unix_us is None:
            self.out.append(3)
        else:
            self.time(unix_us, marker=3)

    def bytes(self):
        return bytes(self.out)


def vmprof_file(samples, period_us=1000, start_us=1772442000000000,
                mode=MODE_MEMORY | MODE_LINES, word=8, win64=False,
                symbols_last=True, rss_kb=lambda i: 1000 + i, pypy_jit=False,
                version=6, gzipped=False):
    """samples as vmprof writes them; each weight is a record's count.

    Code ids are even (Python), native addresses odd; in PyPy mode each
    entry is a (tag, value) pair, and pypy_jit puts an assembler entry and
    a JIT entry of the same code just inside each Python frame, as PyPy's
    JIT does, which a reader must fold away.
    """
    w = Vmprof(period_us, word, win64)
    pypy = bool(mode & MODE_PYPY)
    w.header(version, mode, b"pypy" if pypy else b"cpython")
    w.time(start_us)
    w.meta(b"os", b"linux")
    ids = {}

    base = 0x7f0000001000 if w.addr == 8 else 0x10001000

    def uid(frame):
        if frame not in ids:
            ids[frame] = base + 0x40 * len(ids) + (1 if frame.native else 0)
        return ids[frame]

    threads = {}
    records = []
    for i, s in enumerate(samples):
        entries = []
        for frame, line in reversed(s.stack):          # innermost first
            if pypy:
                if frame.native:
                    entries += [TAG_NATIVE, uid(frame)]
                else:
                    if pypy_jit:
                        entries += [TAG_ASSEMBLER, base - 0x1000, TAG_JITTED, uid(frame)]
                    entries += [TAG_CODE, uid(frame)]
            elif mode & MODE_LINES:
                entries += [0 if frame.native else line, uid(frame)]
            else:
                entries.append(uid(frame))
        thread = threads.setdefault(s.thread, base + 0x10000000 + 0x1000 * len(threads))
        records.append((entries, thread if version >= 1 else None,
                        rss_kb(i) if mode & MODE_MEMORY else None, s.weight))

    def symbols():
        for frame, u in ids.items():
            lang = "n" if frame.native else "py"
            text = "%s:%s:%d:%s" % (lang, frame.function, frame.first_line,
                                    frame.file or "-")
            w.code(u, text.encode(), marker=8 if frame.native else 2)

    if not symbols_last:
        for s in samples:
            for frame, _ in s.stack:
                uid(frame)
        symbols()
    for entries, thread, rss, count in records:
        w.stack(entries, thread, rss, count)
    if symbols_last:
        symbols()
    period_total = sum(s.weight for s in samples) * period_us
    w.trailer(start_us + period_total if version >= 5 else None)
    data = w.bytes()
    return gzip.compress(data) if gzipped else data


# -- pprof ---------------------------------------------------------------

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_varint(field, v):
    return varint(field << 3) + varint(v) if v else b""


def pb_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_repeated(field, values, packed=True):
    if not values:
        return b""
    if packed:
        return pb_bytes(field, b"".join(varint(v) for v in values))
    return b"".join(varint(field << 3) + varint(v) for v in values)


def pprof_file(samples, sample_types=(("samples", "count"), ("cpu", "nanoseconds")),
               values=lambda s: [s.weight, s.weight * 10000000],
               time_nanos=1772442000000000000, period=10000000,
               period_type=("cpu", "nanoseconds"), packed=True, inline=False,
               thread_label="thread", gzipped=True, strings_first=False):
    """samples as a gzipped Profile message.

    A location holds one (function, line) pair, or with inline two: a frame
    inlined into its caller (the inner line first, as profile.proto says).
    """
    strings = [""]
    index = {"": 0}

    def s(text):
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    functions = {}
    locations = {}

    def function_id(frame):
        if frame not in functions:
            functions[frame] = len(functions) + 1
        return functions[frame]

    def location_id(pairs):
        if pairs not in locations:
            locations[pairs] = len(locations) + 1
        return locations[pairs]

    body = b""
    for t, u in sample_types:
        body += pb_bytes(1, pb_varint(1, s(t)) + pb_varint(2, s(u)))
    for smp in samples:
        pairs = list(smp.stack)
        groups = []
        while pairs:                                     # from the leaf
            n = 2 if inline and len(pairs) >= 2 else 1
            groups.append(tuple(reversed(pairs[-n:])))   # inner first
            pairs = pairs[:-n]
        msg = pb_repeated(1, [location_id(g) for g in groups], packed)
        msg += pb_repeated(2, values(smp), packed)
        if thread_label and smp.thread is not None:
            msg += pb_bytes(3, pb_varint(1, s(thread_label)) + pb_varint(2, s(smp.thread)))
        body += pb_bytes(2, msg)
    for pairs, lid in locations.items():
        msg = pb_varint(1, lid) + pb_varint(3, 0x400000 + lid)
        for frame, line in pairs:
            msg += pb_bytes(4, pb_varint(1, function_id(frame)) + pb_varint(2, line))
        body += pb_bytes(4, msg)
    for frame, fid in functions.items():
        body += pb_bytes(5, pb_varint(1, fid) + pb_varint(2, s(frame.function)) +
                         pb_varint(3, s(frame.function)) +
                         pb_varint(4, s(frame.file)) + pb_varint(5, frame.first_line))
    pt = pb_bytes(11, pb_varint(1, s(period_type[0])) + pb_varint(2, s(period_type[1])))
    table = b"".join(pb_bytes(6, t.encode()) for t in strings)
    tail = pb_varint(9, time_nanos) + pb_varint(10, 10 ** 9) + pt + pb_varint(12, period)
    data = table + body + tail if strings_first else body + tail + table
    return gzip.compress(data) if gzipped else data


# -- speedscope and collapsed -------------------------------------------

def speedscope_file(samples, kind="sampled", unit="milliseconds",
                    scale=10, start=1000.0):
    """One profile per thread; each weight times scale in unit.

    sampled: the samples in order, with their weights; evented: each sample
    is its stack opened and closed around an interval of its weight, frames
    shared with the previous sample left open.
    """
    frames = []
    index = {}

    def fi(frame):
        if frame not in index:
            index[frame] = len(frames)
            entry = {"name": frame.function}
            if frame.file:
                entry["file"] = frame.file
            if frame.first_line:
                entry["line"] = frame.first_line
            frames.append(entry)
        return index[frame]

    by_thread = collections.OrderedDict()
    for smp in samples:
        by_thread.setdefault(smp.thread, []).append(smp)
    profiles = []
    for thread, ss in by_thread.items():
        total = sum(x.weight for x in ss) * scale
        p = {"type": kind, "name": thread, "unit": unit,
             "startValue": start, "endValue": start + total}
        if kind == "sampled":
            p["samples"] = [[fi(f) for f, _ in x.stack] for x in ss]
            p["weights"] = [x.weight * scale for x in ss]
        else:
            events, open_, at = [], [], start
            for x in ss:
                want = [fi(f) for f, _ in x.stack]
                keep = 0
                while keep < min(len(open_), len(want)) and open_[keep] == want[keep]:
                    keep += 1
                for f in reversed(open_[keep:]):
                    events.append({"type": "C", "frame": f, "at": at})
                for f in want[keep:]:
                    events.append({"type": "O", "frame": f, "at": at})
                open_ = want
                at += x.weight * scale
            for f in reversed(open_):
                events.append({"type": "C", "frame": f, "at": at})
            p["events"] = events
        profiles.append(p)
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json",
           "shared": {"frames": frames}, "profiles": profiles,
           "exporter": "profile_files.py"}
    return json.dumps(doc, indent=1).encode()


def collapsed_file(samples):
    lines = []
    for s in samples:
        frames = ["%s (%s:%d)" % (f.function, f.file, line) if f.file else f.function
                  for f, line in s.stack]
        lines.append("%s %d\n" % (";".join(frames), s.weight))
    return "".join(lines).encode()


# -- programs ------------------------------------------------------------

def random_program(seed, nfunctions=40, nstacks=60, max_depth=12,
                   nsamples=300, threads=("MainThread", "worker-1"),
                   native_share=0.0):
    """Samples of a made-up program: nstacks distinct stacks, drawn again
    and again, with recursion and functions of the same name in two files."""
    rnd = random.Random(seed)
    funcs = []
    for i in range(nfunctions):
        native = rnd.random() < native_share
        funcs.append(Frame("f%d" % (i % (nfunctions - 3)) if not native else "native_%d" % i,
                           "" if native else "mod%d.py" % (i % 7),
                           0 if native else 1 + 10 * i, native))
    root = Frame("<module>", "main.py", 1)
    stacks = []
    for _ in range(nstacks):
        depth = rnd.randint(1, max_depth)
        stack = [(root, rnd.randint(1, 50))]
        for _ in range(depth):
            f = rnd.choice(funcs)
            stack.append((f, 0 if f.native else f.first_line + rnd.randint(0, 9)))
        stacks.append(tuple(stack))
    return [Sample(rnd.choice(threads), rnd.choice(stacks), rnd.randint(1, 4))
            for _ in range(nsamples)]


def hex_file_bytes(path):
    """The bytes of an annotated hex file: '#' starts a comment."""
    with open(path) as f:
        text = "".join(line.split("#", 1)[0] for line in f)
    return bytes.fromhex("".join(text.split()))


def write_seeds(out, data_dir, regressions_dir):
    prog = random_program(1, nsamples=40)
    seeds = {
        "collapsed": [collapsed_file(prog)],
        "vmprof": [vmprof_file(prog),
                   vmprof_file(prog, mode=0, word=4, version=3),
                   vmprof_file(prog, mode=MODE_PYPY, pypy_jit=True),
                   vmprof_file(random_program(2, nsamples=20, native_share=0.3),
                               mode=MODE_NATIVE | MODE_LINES, win64=True, word=4)],
        "pprof": [pprof_file(prog, gzipped=False),
                  pprof_file(prog, gzipped=False, inline=True, packed=False,
                             strings_first=True)],
        "speedscope": [speedscope_file(prog),
                       speedscope_file(prog, kind="evented", unit="nanoseconds")],
    }
    for fmt, files in seeds.items():
        for i, data in enumerate(files):
            with open(os.path.join(out, fmt, "generated-%d" % i), "wb") as f:
                f.write(data)
        for kind, d in (("data", os.path.join(data_dir, fmt)),
                        ("regression", os.path.join(regressions_dir, fmt))):
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                path = os.path.join(d, name)
                if name.endswith(".hex"):
                    data = hex_file_bytes(path)
                else:
                    with open(path, "rb") as f:
                        data = f.read()
                if data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)
                with open(os.path.join(out, fmt, kind + "-" + name), "wb") as f:
                    f.write(data)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--seeds":
        write_seeds(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
