#!/usr/bin/python3
"""Generate the protocol test vectors (docs/protocol.md, "Test vectors").

Writes, deterministically:
  docs/vectors/NAME.hex           the datagram as annotated hex
  docs/vectors/vectors.json       every vector: name, file, valid, reason and
                                  a structured description of the datagram
  regress/decoder/expected/NAME.txt
                                  what the C decoder must report for it, in
                                  the dump format of regress/decoder/dump.c

The expected dumps are derived from the structured descriptions (and, for
legacy JSON, from Python's own json module), never from the bytes, so the
C decoder is checked against an independent reading of the protocol.

Run with /usr/bin/python3 from anywhere; commit what it writes.  With
--check it writes nothing and fails if the committed files differ.
"""

import hashlib
import hmac
import json
import math
import os
import struct
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "..", "..", "regress", "decoder", "expected")

MAGIC = b"MNEM"
FLAG_AUTH = 0x01
KIND_DESCRIBE, KIND_TICKS, KIND_END = 1, 2, 3
PROFILE_KINDS = {"frames": 0x10, "stacks": 0x11, "threads": 0x12,
                 "stack_samples": 0x13, "alloc_types": 0x14, "allocs": 0x15,
                 "frees": 0x16}

RUN_A = "6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8"
RUN_B = "00112233-4455-6677-8899-aabbccddeeff"
T0 = 1_763_740_800_000_000  # 2025-11-21 16:00:00 UTC in µs


# ---------------------------------------------------------------- encoding
#
# An encoded datagram is a list of segments (comment, bytes); the hex file
# writes each segment as a comment line and a hex line, so a reader sees
# which bytes are which field.


def str16(s):
    b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
    return struct.pack("<H", len(b)) + b


def encode_describe(m):
    names = m["metrics"]
    segs = [(
        "DESCRIBE body: start_us=%d pid=%d period_us=%d metric_total=%d "
        "first_metric=%d metric_count=%d"
        % (m["start_us"], m["pid"], m["period_us"], m["metric_total"],
           m["first_metric"], len(names)),
        struct.pack("<qIIHHH", m["start_us"], m["pid"], m["period_us"],
                    m["metric_total"], m["first_metric"], len(names)))]
    for field in ("tracer", "host", "program", "python_version"):
        segs.append(("%s %s" % (field, json.dumps(m[field])), str16(m[field])))
    for i, name in enumerate(names):
        segs.append(("metric %d %s" % (m["first_metric"] + i, json.dumps(name)),
                     str16(name)))
    return segs


def encode_ticks(m):
    ticks = m["ticks"]
    nvalues = m.get("value_count", len(ticks[0]["values"]) if ticks else 0)
    segs = [(
        "TICKS body: base_us=%d first_metric=%d value_count=%d tick_count=%d "
        "reserved=0" % (m["base_us"], m["first_metric"], nvalues, len(ticks)),
        struct.pack("<qHHHH", m["base_us"], m["first_metric"], nvalues,
                    len(ticks), 0))]
    for t in ticks:
        vals = t["values"]
        # Spell out the values only where the file stays readable.
        shown = " values " + " ".join(fmt_double(v) for v in vals) if len(ticks) <= 32 else ""
        segs.append(("tick offset_us=%d%s" % (t["offset_us"], shown),
                     struct.pack("<I", t["offset_us"])
                     + struct.pack("<%dd" % len(vals), *vals)))
    return segs


def encode_end(m):
    return [("END body: end_us=%d" % m["end_us"], struct.pack("<q", m["end_us"]))]


def encode_profile(m):
    kind = m["kind"]
    entries = m["entries"]
    n = m.get("count", len(entries))
    if kind in ("stack_samples", "allocs"):
        segs = [("%s body: base_us=%d thread=%d count=%d reserved=0"
                 % (kind.upper(), m["base_us"], m["thread"], n),
                 struct.pack("<qIHH", m["base_us"], m["thread"], n, 0))]
    elif kind == "frees":
        segs = [("FREES body: base_us=%d count=%d reserved=0" % (m["base_us"], n),
                 struct.pack("<qHH", m["base_us"], n, 0))]
    else:
        segs = [("%s body: count=%d reserved=0" % (kind.upper(), n),
                 struct.pack("<HH", n, 0))]
    for e in entries:
        if kind == "frames":
            segs.append(("frame %d first_line=%d kind=%d %s %s"
                         % (e["id"], e["first_line"], e["frame_kind"],
                            json.dumps(e["function"]), json.dumps(e["file"])),
                         struct.pack("<IIB", e["id"], e["first_line"], e["frame_kind"])
                         + str16(e["function"]) + str16(e["file"])))
        elif kind == "stacks":
            segs.append(("stack %d parent=%d frame=%d line=%d"
                         % (e["id"], e["parent"], e["frame"], e["line"]),
                         struct.pack("<IIII", e["id"], e["parent"], e["frame"], e["line"])))
        elif kind == "threads":
            segs.append(("thread %d native_id=%d %s"
                         % (e["id"], e["native_id"], json.dumps(e["name"])),
                         struct.pack("<IQ", e["id"], e["native_id"]) + str16(e["name"])))
        elif kind == "stack_samples":
            segs.append(("sample offset_us=%d stack=%d weight_us=%d flags=%d rss=%d"
                         % (e["offset_us"], e["stack"], e["weight_us"], e["flags"],
                            e["rss_bytes"]),
                         struct.pack("<IIIBQ", e["offset_us"], e["stack"], e["weight_us"],
                                     e["flags"], e["rss_bytes"])))
        elif kind == "alloc_types":
            segs.append(("type %d %s" % (e["id"], json.dumps(e["name"])),
                         struct.pack("<I", e["id"]) + str16(e["name"])))
        elif kind == "allocs":
            segs.append(("alloc offset_us=%d stack=%d type=%d bytes=%d id=%d"
                         % (e["offset_us"], e["stack"], e["type"], e["bytes"],
                            e["alloc_id"]),
                         struct.pack("<IIIQQ", e["offset_us"], e["stack"], e["type"],
                                     e["bytes"], e["alloc_id"])))
        else:
            segs.append(("free offset_us=%d id=%d" % (e["offset_us"], e["alloc_id"]),
                         struct.pack("<IQ", e["offset_us"], e["alloc_id"])))
    return segs


def encode_message(m):
    kind = m["kind"]
    if kind == "describe":
        code, body = KIND_DESCRIBE, encode_describe(m)
    elif kind == "ticks":
        code, body = KIND_TICKS, encode_ticks(m)
    elif kind == "end":
        code, body = KIND_END, encode_end(m)
    elif kind in PROFILE_KINDS:
        code, body = PROFILE_KINDS[kind], encode_profile(m)
    else:
        code = m["code"]
        body = [("unknown body", bytes.fromhex(m["body_hex"]))] if m["body_hex"] else []
    blen = sum(len(b) for _, b in body)
    head = ("message: kind %d (%s), flags 0, body length %d" % (code, kind, blen),
            bytes([code, 0]) + struct.pack("<H", blen))
    return [head] + body


def encode_v1(d):
    flags = d["flags"]
    msgs = d["messages"]
    segs = [("header: magic MNEM, version 1, flags %d, %d messages, run %s, seq %d"
             % (flags, len(msgs), d["run"], d["seq"]),
             MAGIC + bytes([1, flags]) + struct.pack("<H", len(msgs))
             + uuid.UUID(d["run"]).bytes + struct.pack("<I", d["seq"]))]
    for m in msgs:
        segs.extend(encode_message(m))
    if d["auth"] is not None:
        tag = bytes.fromhex(d["auth"]["tag_hex"])
        if tag:
            segs.append(("AUTH tag, %d bytes" % len(tag), tag))
        segs.append(("AUTH trailer: key id %d, tag length %d"
                     % (d["auth"]["key_id"], len(tag)),
                     bytes([d["auth"]["key_id"], len(tag)])))
    return segs


def encode_json(d):
    raw = d["text"].encode("utf-8")
    return [("legacy JSON text, %d bytes" % len(raw), raw)]


def apply_mutations(segs, mutations):
    """Patch, cut or extend the encoded bytes, keeping the annotations."""
    for mu in mutations:
        if mu["op"] == "patch":
            data = bytes.fromhex(mu["hex"])
            pos = 0
            out = []
            for comment, b in segs:
                b = bytearray(b)
                hit = False
                for i in range(len(b)):
                    k = pos + i - mu["offset"]
                    if 0 <= k < len(data):
                        b[i] = data[k]
                        hit = True
                if hit:
                    comment += " [patched: %s at offset %d]" % (mu["hex"], mu["offset"])
                out.append((comment, bytes(b)))
                pos += len(b)
            segs = out
        elif mu["op"] == "truncate":
            out, pos = [], 0
            for comment, b in segs:
                if pos >= mu["length"]:
                    break
                keep = b[:mu["length"] - pos]
                if len(keep) < len(b):
                    comment += " [cut after %d of %d bytes]" % (len(keep), len(b))
                out.append((comment, keep))
                pos += len(b)
            segs = out
        elif mu["op"] == "append":
            segs = segs + [("appended", bytes.fromhex(mu["hex"]))]
        elif mu["op"] == "append_zeros":
            segs = segs + [("appended %d zero bytes" % mu["count"], bytes(mu["count"]))]
        else:
            raise ValueError(mu["op"])
    return segs


def encode(d):
    segs = encode_v1(d) if d["format"] == "v1" else encode_json(d)
    return apply_mutations(segs, d.get("mutations", []))


# ------------------------------------------------------------ expectations
#
# The dump format (must match regress/decoder/dump.c):
#   result ok|<reason>
#   format v1|json
#   run <uuid>
#   seq <n>|none
#   auth key_id=<k>|none
#   unknown_kinds <n>
#   messages <n>
# then per message a line and indented detail lines.  Strings are quoted
# with bytes outside printable ASCII, '"' and '\' written as \xNN; doubles
# with %.17g, NaN as nan.


def fmt_double(v):
    if math.isnan(v):
        return "nan"
    return "%.17g" % v


def fmt_string(s):
    b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
    out = []
    for c in b:
        if 0x20 <= c < 0x7F and c not in (0x22, 0x5C):
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return '"' + "".join(out) + '"'


def expect_profile(m):
    kind = m["kind"]
    head = kind
    if kind in ("stack_samples", "allocs"):
        head += " thread=%d" % m["thread"]
    lines = ["%s count=%d" % (head, len(m["entries"]))]
    for e in m["entries"]:
        if kind == "frames":
            lines.append(" frame %d first_line=%d kind=%d %s %s"
                         % (e["id"], e["first_line"], e["frame_kind"],
                            fmt_string(e["function"]), fmt_string(e["file"])))
        elif kind == "stacks":
            lines.append(" stack %d parent=%d frame=%d line=%d"
                         % (e["id"], e["parent"], e["frame"], e["line"]))
        elif kind == "threads":
            lines.append(" thread %d native_id=%d %s"
                         % (e["id"], e["native_id"], fmt_string(e["name"])))
        elif kind == "stack_samples":
            lines.append(" sample %d stack=%d weight_us=%d flags=%d rss=%d"
                         % (m["base_us"] + e["offset_us"], e["stack"], e["weight_us"],
                            e["flags"], e["rss_bytes"]))
        elif kind == "alloc_types":
            lines.append(" type %d %s" % (e["id"], fmt_string(e["name"])))
        elif kind == "allocs":
            lines.append(" alloc %d stack=%d type=%d bytes=%d id=%d"
                         % (m["base_us"] + e["offset_us"], e["stack"], e["type"],
                            e["bytes"], e["alloc_id"]))
        else:
            lines.append(" free %d id=%d" % (m["base_us"] + e["offset_us"], e["alloc_id"]))
    return lines


def expect_v1(d):
    known = [m for m in d["messages"]
             if m["kind"] in ("describe", "ticks", "end") or m["kind"] in PROFILE_KINDS]
    lines = [
        "result ok",
        "format v1",
        "run %s" % uuid.UUID(d["run"]),
        "seq %d" % d["seq"],
        "auth %s" % ("key_id=%d" % d["auth"]["key_id"] if d["auth"] else "none"),
        "unknown_kinds %d" % (len(d["messages"]) - len(known)),
        "messages %d" % len(known),
    ]
    for m in known:
        if m["kind"] == "describe":
            lines.append(
                "describe start_us=%d pid=%d period_us=%d metric_total=%d "
                "first_metric=%d metric_count=%d"
                % (m["start_us"], m["pid"], m["period_us"], m["metric_total"],
                   m["first_metric"], len(m["metrics"])))
            for f in ("tracer", "host", "program", "python_version"):
                lines.append(" %s %s" % (f, fmt_string(m[f])))
            for i, name in enumerate(m["metrics"]):
                lines.append(" metric %d %s" % (m["first_metric"] + i, fmt_string(name)))
        elif m["kind"] == "ticks":
            lines.append("ticks first_metric=%d value_count=%d tick_count=%d"
                         % (m["first_metric"], len(m["ticks"][0]["values"]),
                            len(m["ticks"])))
            for t in m["ticks"]:
                lines.append(" tick %d %s" % (
                    m["base_us"] + t["offset_us"],
                    " ".join(fmt_double(v) for v in t["values"])))
        elif m["kind"] == "end":
            lines.append("end end_us=%d" % m["end_us"])
        else:
            lines.extend(expect_profile(m))
    return lines


def expect_json(d):
    obj = json.loads(d["text"])  # Python's reading is the reference
    lines = [
        "result ok",
        "format json",
        "run %s" % uuid.UUID(obj["uuid"]),
        "seq none",
        "auth none",
        "unknown_kinds 0",
        "messages 1",
    ]
    if obj["msg_type"] == "create_trace_run":
        lines.append("legacy_header app_name %s column_count=%d"
                     % (fmt_string(obj["app_name"]), len(obj["column_names"])))
        for i, c in enumerate(obj["column_names"]):
            lines.append(" column %d %s" % (i, fmt_string(c)))
    else:
        lines.append("legacy_row value_count=%d" % len(obj["row_data"]))
        for i, v in enumerate(obj["row_data"]):
            lines.append(" value %d %s" % (i, "null" if v is None else fmt_double(float(v))))
    return lines


# ----------------------------------------------------------------- vectors

VECTORS = []


def vector(name, datagram, reason="ok", note=""):
    VECTORS.append({"name": name, "datagram": datagram, "reason": reason,
                    "note": note})


def encoded_bytes(d):
    return b"".join(b for _, b in encode(d))


def offset_of(d, needle):
    """Where needle first occurs in the encoding of d (for patches)."""
    return encoded_bytes(d).index(needle)


def v1(messages, run=RUN_A, seq=0, flags=0, auth=None, mutations=None):
    if auth is not None:
        flags |= FLAG_AUTH
    d = {"format": "v1", "run": run, "seq": seq, "flags": flags, "auth": auth,
         "messages": messages}
    if mutations:
        d["mutations"] = mutations
    return d


# The secret of the signed vectors: bytes 00 01 02 ... 1f.
TEST_KEY_HEX = bytes(range(32)).hex()


def signed(messages, key_id=1, tag_len=16, key_hex=TEST_KEY_HEX,
           tampered=False, **kw):
    """A v1 datagram signed with key_hex: the tag is HMAC-SHA-256 of every
    byte before it, truncated (docs/protocol.md, "Authentication trailer").
    tampered: its first byte changed.  "verifies" says whether a server
    holding that secret under key_id takes the tag."""
    auth = {"key_id": key_id, "key_hex": key_hex, "tag_len": tag_len,
            "tag_hex": None,
            "verifies": not tampered and 16 <= tag_len <= 32}
    d = v1(messages, auth=auth, **kw)
    covered = b"".join(b for _, b in encode_v1(dict(d, auth=None)))
    tag = bytearray(hmac.new(bytes.fromhex(key_hex), covered,
                             hashlib.sha256).digest()[:tag_len])
    if tampered:
        tag[0] ^= 0xFF
    auth["tag_hex"] = tag.hex()
    return d


def jtext(text, mutations=None):
    d = {"format": "json", "text": text}
    if mutations:
        d["mutations"] = mutations
    return d


def describe(metrics, first=0, total=None, tracer="billing-worker",
             host="db-7.example.net", program="python3 app.py",
             python_version="3.11.7", start_us=T0, pid=4242, period_us=1_000_000):
    return {"kind": "describe", "start_us": start_us, "pid": pid,
            "period_us": period_us,
            "metric_total": len(metrics) + first if total is None else total,
            "first_metric": first, "tracer": tracer, "host": host,
            "program": program, "python_version": python_version,
            "metrics": metrics}


def ticks(rows, base_us=T0, first=0, step_us=1_000_000):
    return {"kind": "ticks", "base_us": base_us, "first_metric": first,
            "ticks": [{"offset_us": i * step_us, "values": list(r)}
                      for i, r in enumerate(rows)]}


def end(end_us):
    return {"kind": "end", "end_us": end_us}


def profile(kind, entries, **fields):
    m = {"kind": kind, "entries": entries}
    m.update(fields)
    return m


def frame(fid, function, file="app.py", first_line=1, kind=0):
    return {"id": fid, "first_line": first_line, "frame_kind": kind,
            "function": function, "file": file}


def stack(sid, parent, fid, line):
    return {"id": sid, "parent": parent, "frame": fid, "line": line}


def sample(offset_us, sid, weight_us=10_000, on_cpu=True, rss=123_456_789):
    return {"offset_us": offset_us, "stack": sid, "weight_us": weight_us,
            "flags": 1 if on_cpu else 0, "rss_bytes": rss}


def unknown(code, body_hex=""):
    return {"kind": "unknown", "code": code, "body_hex": body_hex}


def series_rows(nticks, nvalues, seed=1):
    """Deterministic values with awkward binary expansions."""
    x = seed
    rows = []
    for t in range(nticks):
        row = []
        for v in range(nvalues):
            x = (x * 1103515245 + 12345) % (1 << 31)
            row.append((x % 100000) / 1000.0 + v * 0.1)
        rows.append(row)
    return rows


INF = float("inf")
NAN = float("nan")
METRICS3 = ["cpu_percent", "rss_bytes", "open_files"]

# -- binary v1, valid
vector("v1_describe_only",
       v1([describe(["cpu_percent", "mém_rss", "温度_°C"], pid=31337,
                    program="python3 -m billing.worker --queue=high")]),
       note="DESCRIBE of a 3-metric run with non-ASCII metric names")
vector("v1_ticks_one", v1([ticks([[42.5]])], seq=1),
       note="one tick of one metric")
vector("v1_ticks_many",
       v1([ticks([[1.5, NAN, INF, -INF], [0.1, -0.0, 5e-324, 1.7976931348623157e308],
                  [-2.25, 3.0, NAN, 123456789.125]] + series_rows(7, 4),
                 first=2, step_us=250_000)], seq=17),
       note="10 ticks of metrics 2..5 with NaN, ±Infinity, -0, denormal, max double")
vector("v1_run_in_one_datagram",
       v1([describe(METRICS3), ticks(series_rows(5, 3)), end(T0 + 5_000_000)]),
       note="DESCRIBE + TICKS + END in one datagram")
vector("v1_describe_split_1",
       v1([describe(["m0", "m1", "m2"], total=5), ticks([[1, 2, 3]])], seq=0),
       note="first half of a 5-metric description (metrics 0..2)")
vector("v1_describe_split_2",
       v1([describe(["m3", "m4"], first=3, total=5), ticks([[4, 5]], first=3)], seq=1),
       note="second half: first_metric=3, metrics 3..4")
vector("v1_describe_no_names",
       v1([describe([], total=2, host="", program="", python_version="")]),
       note="a repeated description naming no metrics, empty optional strings")
vector("v1_unknown_kinds_skipped",
       v1([unknown(0x1F, "deadbeef" * 3), ticks([[7.0, 8.0]]), unknown(0x7F)], seq=5),
       note="a reserved kind (0x1F) with a body and an unknown kind with none are skipped")
vector("v1_only_unknown_kind",
       v1([unknown(0x42, "00")]),
       note="nothing but an unknown kind: decodes to zero messages")
vector("v1_end_only", v1([end(T0 + 86_400_000_000)], seq=99),
       note="END alone")
vector("v1_auth_trailer",
       v1([describe(METRICS3), ticks([[1, 2, 3]])], seq=3,
          auth={"key_id": 7, "tag_hex": "a1b2c3d4e5f60718293a4b5c6d7e8f90"}),
       note="AUTH flag: 16-byte tag and trailer skipped (not verified)")
vector("v1_auth_empty_tag",
       v1([end(T0)], auth={"key_id": 0, "tag_hex": ""}),
       note="AUTH trailer with a zero-length tag")
vector("v1_timestamps_extreme",
       v1([ticks([[1.0], [2.0]], base_us=-1_000_000, step_us=0xFFFFFFFF),
           ticks([[3.0]], base_us=(1 << 63) - 1 - 0xFFFFFFFF, step_us=0),
           end(-210866803200000000)], run=RUN_B, seq=0xFFFFFFFF),
       note="offsets up to 2^32-1, a base before 1970, times at both ends of the range")
vector("v1_typical_1400",
       v1([ticks(series_rows(19, 8, seed=7), step_us=100_000)], seq=1234),
       note="what dolon sends by default: 19 ticks x 8 metrics in 1,400 bytes")
vector("v1_max_size",
       v1([ticks(series_rows(495, 16, seed=3), step_us=10_000)], seq=2),
       note="495 ticks x 16 metrics: 65,388 bytes, close to the 65,507 limit")

# -- binary v1 profiles, valid
FRAMES5 = [frame(1, "<module>", "/srv/shop/app.py", 1),
           frame(2, "Cart.total", "/srv/shop/cart.py", 40),
           frame(3, "prix_été", "/srv/shop/€uro.py", 7),
           frame(4, "checkout", "", 0, kind=2),
           frame(5, "<idle>", "", 0, kind=3)]
STACKS4 = [stack(1, 0, 1, 12), stack(2, 1, 2, 44), stack(3, 2, 3, 9),
           stack(4, 1, 2, 51)]
vector("v1_profile_definitions",
       v1([profile("frames", FRAMES5), profile("stacks", STACKS4),
           profile("threads", [{"id": 1, "native_id": 140234567890, "name": "MainThread"},
                               {"id": 2, "native_id": 0, "name": "worker-ü"}]),
           profile("alloc_types", [{"id": 1, "name": "bytes"}, {"id": 2, "name": "dict"}])],
          seq=40),
       note="frames of every kind (non-ASCII names, empty files), a stack tree, threads, types")
vector("v1_profile_samples",
       v1([profile("stack_samples",
                   [sample(0, 3), sample(10_000, 4, on_cpu=False), sample(20_050, 0, weight_us=10_050),
                    sample(30_000, 3, rss=(1 << 64) - 1)], base_us=T0, thread=1),
           profile("stack_samples", [sample(5_000, 2, weight_us=0)], base_us=T0, thread=2),
           profile("allocs",
                   [{"offset_us": 1_000, "stack": 3, "type": 1, "bytes": 524_288, "alloc_id": 1},
                    {"offset_us": 2_000, "stack": 0, "type": 0, "bytes": (1 << 64) - 1,
                     "alloc_id": (1 << 64) - 1}], base_us=T0, thread=1),
           profile("frees", [{"offset_us": 9_000, "alloc_id": 1}], base_us=T0)],
          seq=41),
       note="stack samples of two threads (on and off CPU, no Python frame, huge RSS), "
            "allocations of a known and an unknown type, a free")
vector("v1_profile_with_ticks",
       v1([ticks([[1.5, 2.5]]), profile("frames", FRAMES5[:2]),
           profile("stacks", STACKS4[:2]),
           profile("stack_samples", [sample(0, 2)], base_us=T0, thread=1)], seq=42),
       note="series and profile messages in one datagram, definitions before their samples")
vector("v1_profile_samples_first",
       v1([profile("stack_samples", [sample(0, 77), sample(10_000, 78)], base_us=T0, thread=9)],
          seq=43),
       note="samples naming a thread and stacks not defined (yet): valid, kept by the server")
vector("v1_profile_times_extreme",
       v1([profile("stack_samples", [sample(0, 1), sample(0xFFFFFFFF, 1)],
                   base_us=(1 << 63) - 1 - 0xFFFFFFFF, thread=1),
           profile("frees", [{"offset_us": 0, "alloc_id": 5}], base_us=-210866803200000000)],
          seq=44),
       note="sample times at both ends of the range")
vector("v1_profile_many_stacks",
       v1([profile("stacks", [stack(i, i - 1, 1 + i % 5, i) for i in range(1, 4001)])],
          seq=45),
       note="4,000 stack definitions (64,004 bytes of body) in one datagram")

# -- binary v1, invalid
base = v1([describe(METRICS3), ticks([[1.0, 2.0, 3.0]])])
vector("v1_bad_magic", dict(base, mutations=[{"op": "patch", "offset": 3, "hex": "58"}]),
       "bad_magic", "magic MNEX")
vector("v1_version_2", dict(base, mutations=[{"op": "patch", "offset": 4, "hex": "02"}]),
       "bad_version", "version byte 2")
vector("v1_reserved_flag", dict(base, mutations=[{"op": "patch", "offset": 5, "hex": "02"}]),
       "bad_flags", "reserved flag bit 1 set")
vector("v1_message_flags", dict(base, mutations=[{"op": "patch", "offset": 29, "hex": "01"}]),
       "bad_flags", "DESCRIBE with message flags 1")
vector("v1_truncated_header", dict(base, mutations=[{"op": "truncate", "length": 20}]),
       "truncated", "only 20 of the 28 header bytes")
vector("v1_truncated_body",
       dict(base, mutations=[{"op": "truncate", "length": len(encoded_bytes(base)) - 3}]),
       "truncated", "last 3 bytes of the TICKS body missing")
vector("v1_trailing_bytes", dict(base, mutations=[{"op": "append", "hex": "00"}]),
       "trailing_bytes", "one byte after the last message")
vector("v1_zero_messages", v1([end(T0)], mutations=[{"op": "patch", "offset": 6, "hex": "0000"}]),
       "bad_count", "message count 0")
vector("v1_count_beyond_messages",
       v1([end(T0)], mutations=[{"op": "patch", "offset": 6, "hex": "0200"}]),
       "truncated", "message count 2, one message present")
vector("v1_count_short_of_messages",
       v1([end(T0), end(T0)], mutations=[{"op": "patch", "offset": 6, "hex": "0100"}]),
       "trailing_bytes", "message count 1, two messages present")
vector("v1_zero_ticks",
       v1([{"kind": "ticks", "base_us": T0, "first_metric": 0, "value_count": 1,
            "ticks": []}]),
       "bad_count", "TICKS with tick_count 0")
vector("v1_zero_values",
       v1([ticks([[]])]),
       "bad_count", "TICKS with value_count 0")
vector("v1_values_beyond_limit",
       v1([ticks([[float(i) for i in range(25)]], first=1000)]),
       "bad_count", "first_metric 1000 + 25 values > 1,024")
vector("v1_metric_total_beyond_limit",
       v1([describe(["a"], total=1025)]),
       "bad_count", "metric_total 1,025")
vector("v1_names_beyond_total",
       v1([describe(["a", "b"], first=2, total=3)]),
       "bad_count", "first_metric 2 + 2 names > metric_total 3")
vector("v1_ticks_reserved",
       v1([ticks([[1.0]])], mutations=[{"op": "patch", "offset": 46, "hex": "0100"}]),
       "bad_flags", "TICKS reserved field 1")
vector("v1_ticks_body_too_long",
       v1([ticks([[1.0]]), unknown(0x7F)],
          mutations=[{"op": "patch", "offset": 30, "hex": "20"},
                     {"op": "patch", "offset": 6, "hex": "0100"}]),
       "trailing_bytes", "TICKS body length 32 where 1 tick of 1 value needs 28")
vector("v1_end_body_too_long",
       v1([unknown(0x03, "0000000000000000ff")]),
       "trailing_bytes", "END with a 9-byte body")
named = v1([describe(["cpu", "xy"])])
named3 = v1([describe(["cpu", "xyz"])])
vector("v1_name_overlong_utf8",
       dict(named, mutations=[{"op": "patch", "offset": offset_of(named, b"xy"),
                               "hex": "c080"}]),
       "bad_utf8", "metric name bytes C0 80 (overlong NUL)")
vector("v1_name_surrogate_utf8",
       dict(named3, mutations=[{"op": "patch", "offset": offset_of(named3, b"xyz"),
                                "hex": "eda080"}]),
       "bad_utf8", "metric name bytes ED A0 80 (UTF-8 of a surrogate)")
vector("v1_name_truncated_utf8",
       dict(named, mutations=[{"op": "patch", "offset": offset_of(named, b"xy"),
                               "hex": "41e2"}]),
       "bad_utf8", "metric name ending inside a 3-byte sequence")
vector("v1_name_nul", v1([describe(["cpu", "a\u0000b"])]),
       "bad_utf8", "metric name with a NUL byte")
vector("v1_name_too_long", v1([describe(["n" * 1025])]),
       "too_long", "metric name of 1,025 bytes")
vector("v1_auth_tag_too_long",
       v1([end(T0)], auth={"key_id": 1, "tag_hex": "00112233"},
          mutations=[{"op": "patch", "offset": 45, "hex": "f0"}]),
       "truncated", "AUTH tag length 240 exceeds the datagram")
vector("v1_time_overflow",
       v1([ticks([[1.0], [2.0]], base_us=(1 << 63) - 2, step_us=2)]),
       "bad_timestamp", "base + offset beyond int64")
vector("v1_start_before_min",
       v1([describe(["a"], start_us=-210866803200000001)]),
       "bad_timestamp", "start time before 4714-11-24 BC")
vector("empty", {"format": "v1", "run": RUN_A, "seq": 0, "flags": 0, "auth": None,
                 "messages": [], "mutations": [{"op": "truncate", "length": 0}]},
       "empty", "zero-length datagram")
vector("v1_oversized",
       v1([end(T0)], mutations=[{"op": "append_zeros", "count": 65508 - 40}]),
       "oversized", "65,508 bytes: one beyond the largest UDP payload")

# -- binary v1, signed (pg_mnemic.auth)
vector("v1_signed_ticks",
       signed([describe(METRICS3), ticks([[1, 2, 3], [4, 5, 6]])], seq=5),
       note="signed with key 1 (secret 00 01 .. 1f): HMAC-SHA-256 truncated to 16 bytes")
vector("v1_signed_full_tag",
       signed([end(T0 + 60_000_000)], key_id=200, tag_len=32, seq=6),
       note="signed with key 200 (secret 00 01 .. 1f): the whole 32-byte HMAC")
vector("v1_signed_profile",
       signed([profile("frames", FRAMES5[:2]),
               profile("stack_samples", [sample(0, 1)], base_us=T0, thread=1)],
              tag_len=20, run=RUN_B, seq=0xFFFFFFFF),
       note="profile messages signed with key 1, a 20-byte tag, the last sequence number")
vector("v1_signed_tampered",
       signed([end(T0)], seq=7, tampered=True),
       note="signed with key 1, then the first byte of its tag inverted: "
            "decodes, but the tag does not verify")
vector("v1_signed_tag_15",
       signed([end(T0)], tag_len=15, seq=8),
       note="a 15-byte HMAC tag: decodes, but shorter than a server accepts")

# -- binary v1 profiles, invalid
defs = v1([profile("frames", FRAMES5[:2])])
vector("v1_profile_frame_id_zero", v1([profile("frames", [frame(0, "f")])]),
       "bad_id", "frame id 0")
vector("v1_profile_frame_kind_4", v1([profile("frames", [frame(1, "f", kind=4)])]),
       "bad_flags", "frame kind 4 (kinds are 0 to 3)")
vector("v1_profile_frames_count_zero", v1([profile("frames", [])]),
       "bad_count", "FRAMES with count 0")
vector("v1_profile_frames_reserved",
       dict(defs, mutations=[{"op": "patch", "offset": 34, "hex": "0100"}]),
       "bad_flags", "FRAMES reserved field 1")
vector("v1_profile_frames_flags",
       dict(defs, mutations=[{"op": "patch", "offset": 29, "hex": "01"}]),
       "bad_flags", "FRAMES with message flags 1")
vector("v1_profile_frames_count_high",
       dict(defs, mutations=[{"op": "patch", "offset": 32, "hex": "0300"}]),
       "truncated", "FRAMES count 3, two frames present")
vector("v1_profile_frames_count_low",
       dict(defs, mutations=[{"op": "patch", "offset": 32, "hex": "0100"}]),
       "trailing_bytes", "FRAMES count 1, two frames present")
vector("v1_profile_function_too_long", v1([profile("frames", [frame(1, "f" * 1025)])]),
       "too_long", "function name of 1,025 bytes")
fr = v1([profile("frames", [frame(1, "fxy")])])
vector("v1_profile_function_bad_utf8",
       dict(fr, mutations=[{"op": "patch", "offset": offset_of(fr, b"fxy"), "hex": "c080"}]),
       "bad_utf8", "function name bytes C0 80")
vector("v1_profile_stack_id_zero", v1([profile("stacks", [stack(0, 0, 1, 1)])]),
       "bad_id", "stack id 0")
vector("v1_profile_stack_frame_zero", v1([profile("stacks", [stack(1, 0, 0, 1)])]),
       "bad_id", "a stack whose frame id is 0")
vector("v1_profile_stacks_short",
       v1([profile("stacks", [stack(1, 0, 1, 1)], count=2)]),
       "truncated", "STACKS count 2, one stack present")
vector("v1_profile_thread_id_zero",
       v1([profile("threads", [{"id": 0, "native_id": 1, "name": "t"}])]),
       "bad_id", "thread id 0")
vector("v1_profile_samples_thread_zero",
       v1([profile("stack_samples", [sample(0, 1)], base_us=T0, thread=0)]),
       "bad_id", "STACK_SAMPLES of thread 0")
vector("v1_profile_samples_flag",
       v1([profile("stack_samples", [dict(sample(0, 1), flags=2)], base_us=T0, thread=1)]),
       "bad_flags", "a sample with the reserved flag bit 1")
vector("v1_profile_samples_time_overflow",
       v1([profile("stack_samples", [sample(2, 1)], base_us=(1 << 63) - 2, thread=1)]),
       "bad_timestamp", "base + offset beyond int64")
vector("v1_profile_samples_before_min",
       v1([profile("stack_samples", [sample(0, 1)], base_us=-210866803200000001, thread=1)]),
       "bad_timestamp", "sample time before 4714-11-24 BC")
vector("v1_profile_samples_extra_byte",
       v1([profile("stack_samples", [sample(0, 1)], base_us=T0, thread=1), unknown(0x7F)],
          mutations=[{"op": "patch", "offset": 30, "hex": "26"},
                     {"op": "patch", "offset": 6, "hex": "0100"}]),
       "trailing_bytes", "STACK_SAMPLES body of 38 bytes where one sample needs 37")
vector("v1_profile_alloc_id_zero",
       v1([profile("allocs", [{"offset_us": 0, "stack": 1, "type": 1, "bytes": 8,
                               "alloc_id": 0}], base_us=T0, thread=1)]),
       "bad_id", "allocation id 0")
vector("v1_profile_free_id_zero",
       v1([profile("frees", [{"offset_us": 0, "alloc_id": 0}], base_us=T0)]),
       "bad_id", "a free of allocation id 0")
vector("v1_profile_frees_count_zero", v1([profile("frees", [], base_us=T0)]),
       "bad_count", "FREES with count 0")
vector("v1_profile_type_id_zero",
       v1([profile("alloc_types", [{"id": 0, "name": "bytes"}])]),
       "bad_id", "type id 0")

# -- legacy JSON, valid
U = "6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8"
vector("json_header",
       jtext('{"msg_type": "create_trace_run", "app_name": "my-app", '
             '"column_names": ["cpu", "mem"], "uuid": "%s"}' % U),
       note="create_trace_run exactly as dolon 0.2.0 sends it")
vector("json_row",
       jtext('{"msg_type": "row", "row_data": [12.5, 3, 0.30000000000000004], "uuid": "%s"}' % U),
       note="row exactly as dolon 0.2.0 sends it")
vector("json_row_special_values",
       jtext('{"msg_type": "row", "row_data": [NaN, null, Infinity, -Infinity, -0.0, '
             '1e400, -1e-400, 1E-5, 2.5e+3, 123456789012345678901234567890, '
             '0.1, 9007199254740993, 4.9406564584124654e-324], "uuid": "%s"}' % U),
       note="NaN, null, ±Infinity, overflow to Infinity, long and tiny numbers")
vector("json_keys_reordered_unknown",
       jtext('{"uuid": "%s", "pid": 12, "row_data": [1, 2], "host": "h", '
             '"msg_type": "row", "extra": null}' % U),
       note="keys in another order, unknown keys of several types")
vector("json_nested_unknown",
       jtext('{"msg_type": "row", "meta": {"a": [1, {"b": [true, false, null, "x"]}], '
             '"c": {}}, "row_data": [1.0], "deep": %s1%s, "uuid": "%s"}'
             % ("[" * 31, "]" * 31, U)),
       note="unknown values nested up to the depth limit of 32")
vector("json_header_escapes",
       jtext('{"msg_type": "create_trace_run", "app_name": "caf\\u00e9 \\"app\\"", '
             '"column_names": ["\\ud83d\\ude00 smile", "tab\\there", "sl\\/ash\\\\", '
             '"\\u6e29\\u5ea6"], "uuid": "%s"}' % U),
       note="escapes as Python's json.dumps writes them, surrogate pair included")
vector("json_header_raw_utf8",
       jtext('{"msg_type": "create_trace_run", "app_name": "appé", '
             '"column_names": ["温度", "😀"], "uuid": "%s"}' % U),
       note="names as raw UTF-8 (ensure_ascii=False)")
vector("json_uuid_forms",
       jtext('{"msg_type": "row", "row_data": [], "uuid": "6F1C2A3B4D5E4F60817293A4B5C6D7E8"}'),
       note="upper-case UUID without hyphens, empty row")
vector("json_whitespace",
       jtext(' \r\n\t{ "msg_type" :"row" ,"row_data":[ 1 , 2 ]\n,"uuid":"%s" } \n' % U),
       note="whitespace everywhere JSON allows it")
vector("json_duplicate_key",
       jtext('{"msg_type": "row", "uuid": "not a uuid", "row_data": [1], "uuid": "%s"}' % U),
       note="a repeated key: the last one counts, as in Python")
vector("json_irrelevant_field_ignored",
       jtext('{"msg_type": "row", "row_data": [1], "column_names": 5, "uuid": "%s"}' % U),
       note="a field of the other message type is ignored like any unknown key")
vector("json_escaped_key",
       jtext('{"msg_\\u0074ype": "row", "row_data": [2], "uuid": "%s"}' % U),
       note="a key spelt with an escape")

# -- legacy JSON, invalid
vector("json_row_string_value",
       jtext('{"msg_type": "row", "row_data": [1.5, "2.5"], "uuid": "%s"}' % U),
       "wrong_type", "a string in row_data")
vector("json_row_bool_value",
       jtext('{"msg_type": "row", "row_data": [true], "uuid": "%s"}' % U),
       "wrong_type", "true in row_data")
vector("json_uuid_number",
       jtext('{"msg_type": "row", "row_data": [1], "uuid": 42}'),
       "wrong_type", "uuid is a number")
vector("json_columns_not_array",
       jtext('{"msg_type": "create_trace_run", "app_name": "a", "column_names": "cpu", '
             '"uuid": "%s"}' % U),
       "wrong_type", "column_names is a string")
vector("json_top_level_array", jtext(' [1, 2]'),
       "wrong_type", "a JSON array, not an object")
vector("json_bad_uuid",
       jtext('{"msg_type": "row", "row_data": [1], "uuid": "6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e"}'),
       "bad_uuid", "uuid one hex digit short")
vector("json_bad_uuid_hyphen",
       jtext('{"msg_type": "row", "row_data": [1], "uuid": "6f1c2a3b4-d5e-4f60-8172-93a4b5c6d7e8"}'),
       "bad_uuid", "uuid with a hyphen out of place")
vector("json_too_deep",
       jtext('{"msg_type": "row", "row_data": [1], "x": %s1%s, "uuid": "%s"}'
             % ("[" * 32, "]" * 32, U)),
       "too_deep", "33 levels of nesting")
vector("json_unknown_msg_type",
       jtext('{"msg_type": "delete_run", "uuid": "%s"}' % U),
       "unknown_msg_type", "msg_type delete_run")
vector("json_missing_uuid", jtext('{"msg_type": "row", "row_data": [1]}'),
       "missing_field", "no uuid")
vector("json_missing_msg_type", jtext('{"row_data": [1], "uuid": "%s"}' % U),
       "missing_field", "no msg_type")
vector("json_missing_columns",
       jtext('{"msg_type": "create_trace_run", "app_name": "a", "uuid": "%s"}' % U),
       "missing_field", "create_trace_run without column_names")
bad8 = jtext('{"msg_type": "create_trace_run", "app_name": "abc", "column_names": [], '
             '"uuid": "%s"}' % U)
vector("json_bad_utf8",
       dict(bad8, mutations=[{"op": "patch", "offset": offset_of(bad8, b"abc") + 1,
                              "hex": "ff"}]),
       "bad_utf8", "byte FF inside app_name")
vector("json_name_nul",
       jtext('{"msg_type": "create_trace_run", "app_name": "a", "column_names": ["x\\u0000"], '
             '"uuid": "%s"}' % U),
       "bad_utf8", "column name with an escaped NUL")
vector("json_name_lone_surrogate",
       jtext('{"msg_type": "create_trace_run", "app_name": "\\ud800x", "column_names": [], '
             '"uuid": "%s"}' % U),
       "bad_utf8", "app_name with an unpaired surrogate escape")
vector("json_name_too_long",
       jtext('{"msg_type": "create_trace_run", "app_name": "a", "column_names": ["%s"], '
             '"uuid": "%s"}' % ("c" * 1025, U)),
       "too_long", "column name of 1,025 bytes")
vector("json_too_many_columns",
       jtext('{"msg_type": "create_trace_run", "app_name": "a", "column_names": [%s], '
             '"uuid": "%s"}' % (", ".join('"c%d"' % i for i in range(1025)), U)),
       "bad_count", "1,025 column names")
vector("json_truncated",
       jtext('{"msg_type": "row", "row_data": [12.5, 3], "uuid": "%s"}' % U,
             mutations=[{"op": "truncate", "length": 40}]),
       "truncated", "cut inside row_data")
vector("json_trailing_garbage",
       jtext('{"msg_type": "row", "row_data": [1], "uuid": "%s"} x' % U),
       "bad_json", "text after the object")
vector("json_trailing_comma",
       jtext('{"msg_type": "row", "row_data": [1,], "uuid": "%s"}' % U),
       "bad_json", "trailing comma in an array")
vector("json_single_quotes", jtext("{'msg_type': 'row'}"),
       "bad_json", "single-quoted strings")
vector("json_lowercase_nan",
       jtext('{"msg_type": "row", "row_data": [nan], "uuid": "%s"}' % U),
       "bad_json", "nan is not a JSON token (NaN is)")
vector("json_leading_zero",
       jtext('{"msg_type": "row", "row_data": [01], "uuid": "%s"}' % U),
       "bad_json", "a number with a leading zero")
vector("json_control_char",
       jtext('{"msg_type": "row", "row_data": [1], "uuid": "%s", "x": "a\tb"}' % U),
       "bad_json", "a raw tab inside a string")
vector("not_a_datagram", jtext("GET / HTTP/1.1\r\n\r\n"),
       "bad_magic", "neither JSON nor MNEM")


# ------------------------------------------------------------------ output


def hex_text(name, note, reason, segs):
    out = ["# %s: %s\n" % (name, note),
           "# expected: %s, %d bytes\n" % (reason, sum(len(b) for _, b in segs))]
    for comment, b in segs:
        out.append("# %s\n" % comment)
        for i in range(0, len(b), 32):
            out.append(b[i:i + 32].hex() + "\n")
    return "".join(out)


def generate():
    """Every file this script owns: {path: text}."""
    files = {}
    listing = []
    for v in VECTORS:
        d = v["datagram"]
        segs = encode(d)
        files[os.path.join(HERE, v["name"] + ".hex")] = hex_text(
            v["name"], v["note"], v["reason"], segs)
        if v["reason"] == "ok":
            lines = expect_v1(d) if d["format"] == "v1" else expect_json(d)
        else:
            lines = ["result %s" % v["reason"]]
        files[os.path.join(EXPECTED, v["name"] + ".txt")] = "\n".join(lines) + "\n"
        listing.append({"name": v["name"], "file": v["name"] + ".hex",
                        "valid": v["reason"] == "ok", "reason": v["reason"],
                        "note": v["note"], "datagram": d})
    files[os.path.join(HERE, "vectors.json")] = json.dumps(
        {"vectors": listing}, indent=1, ensure_ascii=False) + "\n"
    return files


def owned_files_on_disk():
    found = [os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".hex")]
    if os.path.isdir(EXPECTED):
        found += [os.path.join(EXPECTED, f) for f in os.listdir(EXPECTED)
                  if f.endswith(".txt")]
    return set(os.path.normpath(f) for f in found)


def main(argv):
    files = {os.path.normpath(k): v for k, v in generate().items()}
    if "--check" in argv:
        # The committed files must be exactly what this script writes.
        stale = sorted(p for p, text in files.items()
                       if not os.path.exists(p) or open(p).read() != text)
        extra = sorted(owned_files_on_disk() - set(files))
        for p in stale:
            print("out of date: %s" % os.path.relpath(p))
        for p in extra:
            print("not generated: %s" % os.path.relpath(p))
        if stale or extra:
            print("run docs/vectors/make_vectors.py and commit the result")
            return 1
        print("vectors: %d files match make_vectors.py" % len(files))
        return 0

    os.makedirs(EXPECTED, exist_ok=True)
    for p in owned_files_on_disk() - set(files):
        os.remove(p)
    for p, text in files.items():
        with open(p, "w") as f:
            f.write(text)
    print("%d vectors written" % len(VECTORS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
