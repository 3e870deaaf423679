"""Binary v1 datagrams (docs/protocol.md), built from the document for the
tests: the series messages (DESCRIBE, TICKS) and the profile messages
(kinds 0x10-0x16).  Used by the end-to-end tests and the SQL document's
fixture."""
import hashlib
import hmac
import struct


def str16(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def v1_message(kind, body):
    return struct.pack("<BBH", kind, 0, len(body)) + body


def v1_describe(start_us, metrics, tracer="app", host="host", pid=1234,
                period_us=1000000, program="python3 app.py",
                python_version="3.11.2"):
    """A DESCRIBE message naming every metric (docs/protocol.md)."""
    body = struct.pack("<qIIHHH", start_us, pid, period_us, len(metrics), 0,
                       len(metrics))
    body += b"".join(str16(s) for s in (tracer, host, program,
                                         python_version))
    body += b"".join(str16(m) for m in metrics)
    return v1_message(1, body)


def v1_ticks(base_us, rows, first_metric=0, period_us=1000000):
    """A TICKS message: rows[t] holds the values of tick t, period_us apart."""
    v = len(rows[0])
    body = struct.pack("<qHHHH", base_us, first_metric, v, len(rows), 0)
    for t, row in enumerate(rows):
        body += struct.pack("<I", t * period_us) + struct.pack("<%dd" % v, *row)
    return v1_message(2, body)


def v1_datagram(run, seq, messages):
    return (b"MNEM" + bytes([1, 0]) + struct.pack("<H", len(messages)) +
            run.bytes + struct.pack("<I", seq) + b"".join(messages))


def v1_sign(datagram, key_id, secret, tag_len=16):
    """The datagram with the AUTH flag set and its trailer appended: the
    HMAC-SHA-256 under secret of every byte before the tag, truncated to
    tag_len bytes, then key id and tag length (docs/protocol.md)."""
    signed = datagram[:5] + bytes([datagram[5] | 1]) + datagram[6:]
    tag = hmac.new(secret, signed, hashlib.sha256).digest()[:tag_len]
    return signed + tag + bytes([key_id, tag_len])


FRAMES, STACKS, THREADS, STACK_SAMPLES = 0x10, 0x11, 0x12, 0x13
ALLOC_TYPES, ALLOCS, FREES = 0x14, 0x15, 0x16


def frames(rows):
    """rows: (id, first line, kind, function, file)."""
    body = struct.pack("<HH", len(rows), 0)
    for fid, first, kind, function, file in rows:
        body += struct.pack("<IIB", fid, first, kind)
        body += str16(function) + str16(file)
    return v1_message(FRAMES, body)


def stacks(rows):
    """rows: (id, parent, frame, line)."""
    body = struct.pack("<HH", len(rows), 0)
    body += b"".join(struct.pack("<IIII", *r) for r in rows)
    return v1_message(STACKS, body)


def threads(rows):
    """rows: (id, os thread id, name)."""
    body = struct.pack("<HH", len(rows), 0)
    for tid, native, name in rows:
        body += struct.pack("<IQ", tid, native) + str16(name)
    return v1_message(THREADS, body)


def stack_samples(base_us, thread, rows):
    """rows: (offset µs, stack, weight µs, on cpu, rss bytes)."""
    body = struct.pack("<qIHH", base_us, thread, len(rows), 0)
    for offset, stack, weight, on_cpu, rss in rows:
        body += struct.pack("<IIIBQ", offset, stack, weight,
                            1 if on_cpu else 0, rss)
    return v1_message(STACK_SAMPLES, body)




def alloc_types(rows):
    """rows: (id, name)."""
    body = struct.pack("<HH", len(rows), 0)
    for tid, name in rows:
        body += struct.pack("<I", tid) + str16(name)
    return v1_message(ALLOC_TYPES, body)


def allocs(base_us, thread, rows):
    """rows: (offset µs, stack, type, bytes it stands for, allocation id)."""
    body = struct.pack("<qIHH", base_us, thread, len(rows), 0)
    body += b"".join(struct.pack("<IIIQQ", *r) for r in rows)
    return v1_message(ALLOCS, body)


def frees(base_us, rows):
    """rows: (offset µs, allocation id)."""
    body = struct.pack("<qHH", base_us, len(rows), 0)
    body += b"".join(struct.pack("<IQ", *r) for r in rows)
    return v1_message(FREES, body)
