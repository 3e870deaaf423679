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
           and v["reason"] in ("bad_count", "too_long", "bad_utf8")]


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
    # a kind dolon never sends: the raw message, to complete the datagram
    body = bytes.fromhex(m["body_hex"])
    return bytes([m["code"], 0]) + len(body).to_bytes(2, "little") + body


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
