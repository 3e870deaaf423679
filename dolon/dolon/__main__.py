"""python3 -m dolon --tracer NAME [options] script.py [args...]
python3 -m dolon upload --tracer NAME --url URL [--token T] FILE  (dolon.upload)

Run a script unchanged under a background tracer with the built-in
measurements (and every @profiler-decorated function it imports).

A bad option is a usage error (exit 2, the script does not run); the
environment's problems -- a bad DOLON_* variable, a host name that does not
resolve -- give one warning and the script runs (see dolon.config).
"""
import argparse
import os
import runpy
import sys

import dolon
from dolon import builtin_metrics, config, profiling
from dolon.tracer import Tracer


def _option(check):
    """An argparse type from a check that raises ValueError."""
    def convert(text):
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                str(exc).replace("dolon: ", "")) from None
    convert.__name__ = check.__name__
    return convert


def _tracer_name(text):
    if not text:
        raise ValueError("the tracer name must not be empty")
    return text


def _frequency(text):
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError("frequency must be a positive number of seconds")
    return value


def _key(text):
    config.checked_key(text, "--key")
    return text


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m dolon",
        description="Trace a Python script into mnemic without changing it.")
    parser.add_argument("--version", action="version",
                        version="dolon %s" % dolon.__version__)
    parser.add_argument("--tracer", required=True, type=_option(_tracer_name),
                        help="the tracer name the run is stored under")
    parser.add_argument("--frequency", type=_option(_frequency), default=1.0,
                        help="seconds between ticks (default 1)")
    parser.add_argument("--host", help="pg_mnemic host (default $DOLON_HOST "
                        "or 127.0.0.1)")
    parser.add_argument("--port", type=_option(config.checked_port),
                        help="pg_mnemic UDP port (default $DOLON_PORT or "
                        "12013)")
    parser.add_argument("--protocol", choices=("v1", "json"),
                        help="wire format (default $DOLON_PROTOCOL or v1)")
    parser.add_argument("--stacks", metavar="HZ",
                        type=_option(profiling.checked_stack_hz),
                        help="sample every thread's stack HZ times a second "
                        "(alone: 100; $DOLON_STACK_HZ)")
    parser.add_argument("--allocations", metavar="BYTES",
                        type=_option(_interval),
                        help="sample allocations, one per BYTES on average "
                        "(alone: 524288; $DOLON_ALLOCATIONS)")
    parser.add_argument("--key", type=_option(_key),
                        help="sign every datagram with this key, ID:HEX as "
                        "mnemic.add_ingest_key() returns it (default "
                        "$DOLON_KEY; prefer it: a command line is visible "
                        "to every user of the machine)")
    parser.add_argument("--verbose", action="store_true",
                        help="print every tick")
    parser.add_argument("-m", dest="module", action="store_true",
                        help="run script as a module name, like python -m")
    parser.add_argument("script", help="the script (or module with -m)")
    parser.add_argument("args", nargs=argparse.REMAINDER,
                        help="arguments for the script")
    options = parser.parse_args(_bare_options(argv))
    if options.key is not None and options.protocol == "json":
        parser.error("--key signs binary v1: it cannot go with --protocol json")
    return options


# options whose value may be left out: what they mean then
_OPTIONAL_VALUES = {"--stacks": "100", "--allocations": "on"}
_WITH_VALUES = ("--tracer", "--frequency", "--host", "--port", "--protocol",
                "--key")


def _bare_options(argv):
    """--stacks and --allocations alone, before the script, get their
    default value spelled out: argparse would take the script's name as
    their value."""
    out = list(argv)
    i = 0
    while i < len(out):
        arg = out[i]
        if arg in _WITH_VALUES:
            i += 2
        elif arg in _OPTIONAL_VALUES:
            if i + 1 < len(out) and _is_number(out[i + 1]):
                i += 2
            else:
                out[i] = "%s=%s" % (arg, _OPTIONAL_VALUES[arg])
                i += 1
        elif arg.startswith("-") and arg != "-":
            i += 1
        else:
            break                   # the script: the rest is its own
    return out


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _interval(text):
    return True if text == "on" else profiling.checked_allocations(text)


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    sys.argv = [options.script] + options.args
    if not options.module:
        sys.path.insert(0, os.path.dirname(os.path.abspath(options.script)))
    tracer = Tracer(options.tracer, options.frequency, options.host,
                    options.port, *builtin_metrics.FOR_THREADS,
                    verbose=options.verbose, protocol=options.protocol,
                    stack_hz=options.stacks, allocations=options.allocations,
                    key=options.key)
    with tracer:
        if options.module:
            runpy.run_module(options.script, run_name="__main__",
                             alter_sys=True)
        else:
            runpy.run_path(options.script, run_name="__main__")


if __name__ == "__main__":
    # python3 -m dolon upload ...: a profile file to mnemic-web (dolon.upload).
    if sys.argv[1:2] == ["upload"]:
        from dolon import upload
        sys.exit(upload.main(sys.argv[2:]))
    main()
