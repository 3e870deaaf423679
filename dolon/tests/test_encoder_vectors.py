"""The v1 encoder reproduces docs/vectors/ byte for byte.

Every valid v1 vector is rebuilt from its structured fields with
dolon._core.encode_* and compared with its .hex file; every invalid vector
that is invalid by its fields (not by a byte patch) must be refused.
"""
import json
import math
import os
import uuid

import pytest

from conftest import REPO_ROOT
from dolon import _core

VECTORS_DIR = os.path.join(REPO_ROOT, "docs", "vectors")


def _load():
    path = os.path.join(VECTORS_DIR, "vectors.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["vectors"]


def _encodable(vector):
    """A v1 vector made of messages dolon has an encoder for (encode_ticks,
    encode_frames ...) or carries raw (body_hex).  A kind dolon cannot write
    yet leaves its vectors to the decoder's tests."""
    d = vector["datagram"]
    return d.get("format") == "v1" and all(
        hasattr(_core, "encode_" + m["kind"]) or "body_hex" in m
        for m in d.get("messages", ()))


VECTORS = _load()
VALID_V1 = [v for v in VECTORS if v["valid"] and _encodable(v)]
# invalid by their fields, not by patched bytes: the encoder must refuse
REFUSED = [v for v in VECTORS
           if not v["valid"] and _encodable(v)
           and not v["datagram"].get("mutations")
           and v["reason"] in ("bad_count", "too_long", "bad_utf8", "bad_id",
                               "bad_flags")]


def read_hex(name):
    lines = []
    with open(os.path.join(VECTORS_DIR, name)) as f:
        for line in f:
            if not line.lstrip().startswith("#"):
                lines.append(line)
    return bytes.fromhex("".join("".join(lines).split()))


def _values(values):
    return [float(v) if not isinstance(v, float) else v for v in values]


def encode_message(m):
    kind = m["kind"]
    if kind == "describe":
        return _core.encode_describe(
            m["start_us"], m["pid"], m["period_us"], m["metric_total"],
            m["first_metric"], m["tracer"], m["host"], m["program"],
            m["python_version"], m["metrics"])
    if kind == "ticks":
        return _core.encode_ticks(
            m["base_us"], m["first_metric"],
            [(t["offset_us"], _values(t["values"])) for t in m["ticks"]])
    if kind == "end":
        return _core.encode_end(m["end_us"])
    if kind in PROFILE_FIELDS:
        return encode_profile(m)
    # a kind dolon never sends: the raw message, to complete the datagram
    body = bytes.fromhex(m["body_hex"])
    return bytes([m["code"], 0]) + len(body).to_bytes(2, "little") + body


# the fields of each profile entry, in wire order (docs/protocol.md)
PROFILE_FIELDS = {
    "frames": ("id", "first_line", "frame_kind", "function", "file"),
    "stacks": ("id", "parent", "frame", "line"),
    "threads": ("id", "native_id", "name"),
    "stack_samples": ("offset_us", "stack", "weight_us", "flags", "rss_bytes"),
    "alloc_types": ("id", "name"),
    "allocs": ("offset_us", "stack", "type", "bytes", "alloc_id"),
    "frees": ("offset_us", "alloc_id"),
}


def encode_profile(m):
    kind = m["kind"]
    entries = [tuple(e[f] for f in PROFILE_FIELDS[kind]) for e in m["entries"]]
    if "count" in m and m["count"] != len(entries):
        raise ValueError("the encoder writes the count of the entries given")
    encode = getattr(_core, "encode_" + kind)
    if kind in ("stack_samples", "allocs"):
        return encode(m["base_us"], m["thread"], entries)
    if kind == "frees":
        return encode(m["base_us"], entries)
    return encode(entries)


def encode_vector(d):
    auth = None
    if d.get("auth"):
        auth = (d["auth"]["key_id"], bytes.fromhex(d["auth"]["tag_hex"]))
    return _core.encode_datagram(uuid.UUID(d["run"]).bytes, d["seq"],
                                 [encode_message(m) for m in d["messages"]],
                                 auth=auth)


def test_vectors_are_present():
    assert len(VALID_V1) >= 10, "docs/vectors/vectors.json missing or thin"


@pytest.mark.parametrize("vector", VALID_V1, ids=[v["name"] for v in VALID_V1])
def test_encoder_reproduces_valid_vector(vector):
    expected = read_hex(vector["file"])
    got = encode_vector(vector["datagram"])
    assert got.hex() == expected.hex()


@pytest.mark.parametrize("vector", REFUSED, ids=[v["name"] for v in REFUSED])
def test_encoder_refuses_invalid_fields(vector):
    with pytest.raises((ValueError, OverflowError, UnicodeError)):
        encode_vector(vector["datagram"])


def test_missing_value_is_nan():
    msg = _core.encode_ticks(0, 0, [(0, [None, 1.0])])
    import struct
    a, b = struct.unpack_from("<dd", msg, 4 + 16 + 4)
    assert math.isnan(a) and b == 1.0


PROFILE_VECTORS = [v for v in VALID_V1 if v["name"].startswith("v1_profile")]


@pytest.mark.parametrize("vector", PROFILE_VECTORS,
                         ids=[v["name"] for v in PROFILE_VECTORS])
def test_test_decoder_reads_profile_vectors(vector):
    """The tests' own reader (v1decode.py), which the end-to-end sampler
    tests trust, reads each profile vector back to its fields."""
    import v1decode
    got = v1decode.decode(read_hex(vector["file"]))["messages"]
    want = vector["datagram"]["messages"]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w["kind"] == "unknown":
            continue
        assert g == {k: x for k, x in w.items() if k != "count"}
