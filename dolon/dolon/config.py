"""Where and how a tracer sends: arguments first, then the environment.

DOLON_HOST, DOLON_PORT, DOLON_PROTOCOL ("v1" or "json") and DOLON_KEY fill
in what the program leaves as None; without either, measurements go to
127.0.0.1:12013 in binary v1, unsigned.  A key ("ID:HEX", as
mnemic.add_ingest_key() returns it) signs every datagram (docs/protocol.md,
"Authentication trailer"); legacy JSON cannot be signed.

A host may be a list, "db1,db2:12014,[::1]:12015": several pg_mnemic nodes
(docs/sql.md, "Beyond one machine").  Each run goes to one of them, chosen
from its uuid -- the first 8 bytes as an unsigned big-endian integer,
modulo the number of hosts -- and stays there.  A host without a port uses
the port given (or DOLON_PORT).

Who is to blame decides what happens.  A bad argument is a mistake in the
calling code: a clear error at the call (ValueError, TypeError).  A bad
environment variable, or a host name that does not resolve, is the
environment's problem and must not harm the program: one warning, and the
program runs on -- untraced, or, for a host name, traced from the moment
the name resolves (the tracers try again every RESOLVE_RETRY_S seconds).
"""
import os
import sys
import warnings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12013
DEFAULT_PROTOCOL = "v1"
PROTOCOLS = ("v1", "json")
KEY_SECRET_BYTES = (16, 64)     # what pg_mnemic takes

# resolve_key()'s answer for a bad DOLON_KEY: warned, trace nothing
UNTRACED = object()
RESOLVE_RETRY_S = 10.0

_warned = set()


def warn_once(message):
    """Warn about the environment once per process and message; never
    raise, even where warnings are made errors (-W error)."""
    if message in _warned:
        return
    _warned.add(message)
    try:
        warnings.warn("dolon: " + message, RuntimeWarning, stacklevel=3)
    except Warning:
        sys.stderr.write("dolon: %s\n" % message)


def checked_port(port, source="port"):
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValueError("dolon: %s must be an integer, not %r"
                         % (source, port)) from None
    if not 0 < port < 65536:
        raise ValueError("dolon: %s must be 1..65535, not %d" % (source, port))
    return port


def checked_protocol(protocol, source="protocol"):
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        raise ValueError("dolon: %s must be one of %s, not %r"
                         % (source, ", ".join(PROTOCOLS), protocol))
    return protocol.lower()


def host_list(host, source="host"):
    """The entries of a host list as (host, port or None); ValueError for
    an empty entry or a bad port."""
    hosts = []
    for entry in host.split(","):
        entry = entry.strip()
        name, entry_port = entry, None
        if entry.startswith("["):                   # [v6]:port or [v6]
            name, _, rest = entry[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError("dolon: %s entry %r is not [address]:port"
                                     % (source, entry))
                entry_port = checked_port(rest[1:], "%s port" % source)
        elif entry.count(":") == 1:                  # name:port
            name, _, text = entry.partition(":")
            entry_port = checked_port(text, "%s port" % source)
        if not name:
            raise ValueError("dolon: %s has an empty entry: %r" % (source, host))
        hosts.append((name, entry_port))
    return hosts


def host_for_run(host, port, run_uuid):
    """(host, port) of the run run_uuid (a uuid.UUID) among a host list."""
    hosts = host_list(host)
    name, entry_port = hosts[int.from_bytes(run_uuid.bytes[:8], "big") % len(hosts)]
    return name, entry_port or port


def resolve(host=None, port=None, protocol=None):
    """Return (host, port, protocol) with the defaults filled in.

    Raises ValueError (TypeError) for a bad argument.  For a bad DOLON_*
    variable it warns once and returns None: trace nothing.
    """
    if host is not None and not isinstance(host, str):
        raise TypeError("dolon: host must be a str, not %r" % (host,))
    if host:
        host_list(host)
    if port is not None:
        port = checked_port(port)
    if protocol is not None:
        protocol = checked_protocol(protocol)
    try:
        if port is None:
            port = checked_port(os.environ.get("DOLON_PORT") or DEFAULT_PORT,
                                "DOLON_PORT")
        if protocol is None:
            protocol = checked_protocol(
                os.environ.get("DOLON_PROTOCOL") or DEFAULT_PROTOCOL,
                "DOLON_PROTOCOL")
        if not host and os.environ.get("DOLON_HOST"):
            host = os.environ["DOLON_HOST"]
            host_list(host, "DOLON_HOST")
    except ValueError as exc:
        warn_once("%s; nothing is traced" % str(exc)[len("dolon: "):])
        return None
    return host or DEFAULT_HOST, port, protocol


def checked_key(key, source="key"):
    """(key_id, secret) from "ID:HEX": a key id of 0..255, a colon, and a
    secret of 16 to 64 bytes in hex.  ValueError (TypeError) otherwise; the
    message never shows the secret."""
    if not isinstance(key, str):
        raise TypeError("dolon: %s must be a str \"ID:HEX\", not %s"
                        % (source, type(key).__name__))
    key_id, colon, secret = key.strip().partition(":")
    wanted = ("dolon: %s must be \"ID:HEX\": a key id of 0 to 255, a colon "
              "and a secret of %d to %d bytes in hex"
              % ((source,) + KEY_SECRET_BYTES))
    if not colon or not key_id.isdigit() or not 0 <= int(key_id) <= 255:
        raise ValueError(wanted + " (the key id is wrong)")
    try:
        secret = bytes.fromhex(secret)
    except ValueError:
        raise ValueError(wanted + " (the secret is not hex)") from None
    if not KEY_SECRET_BYTES[0] <= len(secret) <= KEY_SECRET_BYTES[1]:
        raise ValueError(wanted + " (the secret has %d bytes)" % len(secret))
    return int(key_id), secret


def key_argument(key, protocol=None):
    """Check a key given in code: None, or (key_id, secret).  Raises for a
    bad one, and for a key with protocol "json", which cannot be signed."""
    if key is None:
        return None
    key = checked_key(key)
    if protocol is not None and checked_protocol(protocol) == "json":
        raise ValueError("dolon: legacy JSON cannot be signed: a key needs "
                         "protocol \"v1\"")
    return key


def resolve_key(key, protocol):
    """The key to sign with: the checked argument, else DOLON_KEY, else
    None.  For a bad DOLON_KEY, or a key where the environment chose the
    JSON protocol, it warns once and returns UNTRACED."""
    if key is None and os.environ.get("DOLON_KEY"):
        try:
            key = checked_key(os.environ["DOLON_KEY"], "DOLON_KEY")
        except ValueError as exc:
            warn_once("%s; nothing is traced" % str(exc)[len("dolon: "):])
            return UNTRACED
    if key is not None and protocol == "json":
        warn_once("a key is set but the protocol is \"json\", which cannot "
                  "be signed; nothing is traced")
        return UNTRACED
    return key
