"""An independent reader of binary v1 datagrams (docs/protocol.md), written
with struct for the tests: what dolon's C encoder sends is checked by it."""
import struct
import uuid


def decode(datagram):
    magic, version, flags, count = struct.unpack_from("<4sBBH", datagram, 0)
    assert magic == b"MNEM" and version == 1, datagram[:8]
    run = uuid.UUID(bytes=bytes(datagram[8:24]))
    (seq,) = struct.unpack_from("<I", datagram, 24)
    end = len(datagram)
    if flags & 1:
        tag_len = datagram[-1]
        end = len(datagram) - 2 - tag_len
    pos = 28
    messages = []
    for _ in range(count):
        kind, mflags, length = struct.unpack_from("<BBH", datagram, pos)
        assert mflags == 0
        body = datagram[pos + 4:pos + 4 + length]
        assert len(body) == length, "truncated"
        pos += 4 + length
        messages.append(_message(kind, body))
    assert pos == end, "trailing bytes: %d != %d" % (pos, end)
    return {"run": run, "seq": seq, "flags": flags, "messages": messages}


def _str16(body, pos):
    (n,) = struct.unpack_from("<H", body, pos)
    return body[pos + 2:pos + 2 + n].decode("utf-8"), pos + 2 + n


def _message(kind, body):
    if kind == 1:
        start, pid, period, total, first, n = struct.unpack_from(
            "<qIIHHH", body, 0)
        pos = 22
        fields = []
        for _ in range(4 + n):
            s, pos = _str16(body, pos)
            fields.append(s)
        assert pos == len(body)
        return {"kind": "describe", "start_us": start, "pid": pid,
                "period_us": period, "metric_total": total,
                "first_metric": first, "tracer": fields[0],
                "host": fields[1], "program": fields[2],
                "python_version": fields[3], "metrics": fields[4:]}
    if kind == 2:
        base, first, width, nticks, reserved = struct.unpack_from(
            "<qHHHH", body, 0)
        assert reserved == 0 and width >= 1 and nticks >= 1
        assert len(body) == 16 + nticks * (4 + 8 * width)
        ticks = []
        pos = 16
        for _ in range(nticks):
            (offset,) = struct.unpack_from("<I", body, pos)
            values = list(struct.unpack_from("<%dd" % width, body, pos + 4))
            ticks.append({"offset_us": offset, "values": values})
            pos += 4 + 8 * width
        return {"kind": "ticks", "base_us": base, "first_metric": first,
                "ticks": ticks}
    if kind == 3:
        assert len(body) == 8
        return {"kind": "end", "end_us": struct.unpack("<q", body)[0]}
    if kind in PROFILE_KINDS:
        return _profile(PROFILE_KINDS[kind], body)
    return {"kind": "unknown", "code": kind, "body": bytes(body)}


# the profile kinds (docs/protocol.md, "Profiles"): name, fixed part, entry
PROFILE_KINDS = {0x10: "frames", 0x11: "stacks", 0x12: "threads",
                 0x13: "stack_samples", 0x14: "alloc_types", 0x15: "allocs",
                 0x16: "frees"}
_ENTRIES = {
    # struct format of the fixed part of an entry, its field names, then
    # the names of the str16 fields that follow it
    "frames": ("<IIB", ("id", "first_line", "frame_kind"), ("function", "file")),
    "stacks": ("<IIII", ("id", "parent", "frame", "line"), ()),
    "threads": ("<IQ", ("id", "native_id"), ("name",)),
    "stack_samples": ("<IIIBQ", ("offset_us", "stack", "weight_us", "flags",
                                 "rss_bytes"), ()),
    "alloc_types": ("<I", ("id",), ("name",)),
    "allocs": ("<IIIQQ", ("offset_us", "stack", "type", "bytes", "alloc_id"),
               ()),
    "frees": ("<IQ", ("offset_us", "alloc_id"), ()),
}


def _profile(name, body):
    m = {"kind": name}
    if name in ("stack_samples", "allocs"):
        m["base_us"], m["thread"], n, reserved = struct.unpack_from(
            "<qIHH", body, 0)
        pos = 16
        assert m["thread"] != 0
    elif name == "frees":
        m["base_us"], n, reserved = struct.unpack_from("<qHH", body, 0)
        pos = 12
    else:
        n, reserved = struct.unpack_from("<HH", body, 0)
        pos = 4
    assert reserved == 0 and n >= 1, (name, n, reserved)
    fmt, fields, strings = _ENTRIES[name]
    entries = []
    for _ in range(n):
        e = dict(zip(fields, struct.unpack_from(fmt, body, pos)))
        pos += struct.calcsize(fmt)
        for s in strings:
            e[s], pos = _str16(body, pos)
        entries.append(e)
    assert pos == len(body), "%s: %d bytes left" % (name, len(body) - pos)
    for e in entries:
        for key in ("id", "alloc_id"):
            assert e.get(key, 1) != 0, (name, e)
        if name == "stacks":
            assert e["frame"] != 0
        if name == "frames":
            assert e["frame_kind"] <= 3
        if name == "stack_samples":
            assert e["flags"] & ~1 == 0
    m["entries"] = entries
    return m


def rows(datagrams):
    """All ticks of v1 datagrams as (ts_us, first_metric, values)."""
    out = []
    for d in datagrams:
        for m in decode(d)["messages"]:
            if m["kind"] == "ticks":
                for t in m["ticks"]:
                    out.append((m["base_us"] + t["offset_us"],
                                m["first_metric"], t["values"]))
    return out


def metric_names(datagrams):
    """index -> name from every DESCRIBE seen."""
    names = {}
    for d in datagrams:
        for m in decode(d)["messages"]:
            if m["kind"] == "describe":
                for i, n in enumerate(m["metrics"]):
                    names[m["first_metric"] + i] = n
    return names
