"""Where and how a tracer sends: arguments first, then the environment.

DOLON_HOST, DOLON_PORT and DOLON_PROTOCOL ("v1" or "json") fill in what the
program leaves as None; without either, measurements go to 127.0.0.1:12013
in binary v1.
"""
import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12013
DEFAULT_PROTOCOL = "v1"
PROTOCOLS = ("v1", "json")


def resolve(host=None, port=None, protocol=None):
    """Return (host, port, protocol) with the defaults filled in."""
    host = host or os.environ.get("DOLON_HOST") or DEFAULT_HOST
    if port is None:
        port = os.environ.get("DOLON_PORT") or DEFAULT_PORT
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValueError("dolon: port must be an integer, not %r" % (port,))
    if not 0 < port < 65536:
        raise ValueError("dolon: port must be 1..65535, not %d" % port)
    protocol = (protocol or os.environ.get("DOLON_PROTOCOL")
                or DEFAULT_PROTOCOL).lower()
    if protocol not in PROTOCOLS:
        raise ValueError("dolon: protocol must be one of %s, not %r"
                         % (", ".join(PROTOCOLS), protocol))
    return host, port, protocol
