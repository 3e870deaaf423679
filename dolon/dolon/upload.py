"""python3 -m dolon upload --tracer NAME --url http://HOST:12111 [--token T] FILE

Upload a profile file to mnemic-web, which stores it as a new run of the
tracer: a vmprof .prof file, folded (collapsed) stacks, a speedscope JSON
file or a pprof profile, gzipped or not.  The server tells the format from
the content; --format names it instead.  The token is the one mnemic-web
was started with (--token, which also guards deleting runs).

It prints the new run's address and exits 0; 1 when the server refused the
file (its reason is printed) or could not be reached; 2 for a usage error.
Nothing but the standard library is used.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

FORMATS = ("auto", "vmprof", "collapsed", "speedscope", "pprof")
TIMEOUT_SECONDS = 300


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m dolon upload",
        description="Upload a profile file to mnemic-web as a new run of a tracer.")
    parser.add_argument("--tracer", required=True,
                        help="the tracer the new run belongs to")
    parser.add_argument("--url", required=True,
                        help="mnemic-web's address, e.g. http://127.0.0.1:12111")
    parser.add_argument("--token", default=os.environ.get("MNEMIC_WEB_TOKEN"),
                        help="mnemic-web's --token (default $MNEMIC_WEB_TOKEN)")
    parser.add_argument("--auth-token",
                        default=os.environ.get("MNEMIC_WEB_AUTH_TOKEN"),
                        help="a bearer token, when mnemic-web asks for one "
                        "(its --auth-token; default $MNEMIC_WEB_AUTH_TOKEN)")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="the file's format (default: told from its content)")
    parser.add_argument("file", help="the profile file")
    options = parser.parse_args(argv)
    if not options.tracer:
        parser.error("the tracer name must not be empty")
    url = urllib.parse.urlsplit(options.url)
    if url.scheme not in ("http", "https") or not url.netloc:
        parser.error("--url must be http://HOST:PORT or https://HOST:PORT")
    return options


def import_url(base, tracer, fmt):
    query = {"tracer": tracer}
    if fmt != "auto":
        query["format"] = fmt
    return "%s/api/import?%s" % (base.rstrip("/"), urllib.parse.urlencode(query))


def upload(options, data):
    """POST the file; the server's JSON answer (a dict), or raises
    UploadError with the server's reason."""
    headers = {"Content-Type": "application/octet-stream"}
    if options.token:
        headers["X-Mnemic-Token"] = options.token
    if options.auth_token:
        headers["Authorization"] = "Bearer " + options.auth_token
    request = urllib.request.Request(import_url(options.url, options.tracer, options.format),
                                     data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            reason = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            reason = body.decode("utf-8", "replace").strip() or err.reason
        raise UploadError("%d: %s" % (err.code, reason)) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise UploadError("cannot reach %s: %s" % (options.url, reason)) from None


class UploadError(Exception):
    pass


def main(argv):
    options = parse_args(argv)
    try:
        with open(options.file, "rb") as f:
            data = f.read()
    except OSError as err:
        print("dolon upload: cannot read %s: %s" % (options.file, err.strerror),
              file=sys.stderr)
        return 1
    try:
        answer = upload(options, data)
    except UploadError as err:
        print("dolon upload: %s was not imported: %s" % (options.file, err),
              file=sys.stderr)
        return 1
    print("%s: imported as a %s profile, run %s of tracer %s" % (
        options.file, answer.get("format"), answer.get("run"), answer.get("tracer")))
    print("%s/?run=%s" % (options.url.rstrip("/"), answer.get("run")))
    return 0
