"""Build dolon's sdist, and from it a wheel for every CPython on the machine.

    /usr/bin/python3 wheels.py [--dist DIR]         (make wheels)

Offline, with nothing but what Debian provides: the sdist is made by
Debian's Python, then unpacked and built into a wheel by each interpreter
in turn -- Debian's /usr/bin/python3 first, then each pyenv CPython 3.8+
under $PYENV_ROOT/versions (~/.pyenv) -- with `pip wheel
--no-build-isolation --no-index`.  Interpreters other than Debian's may
lack setuptools and wheel (pyenv's 3.12 and 3.13 have neither, older ones
no wheel and a setuptools too old for pyproject.toml), so each is lent
Debian's own (python3-setuptools 66, python3-wheel 0.38: pure Python, for
Python 3.7+) on PYTHONPATH.

One wheel per ABI tag: a second interpreter of a version already built
(pyenv's 3.11 beside Debian's) is covered by the first one's wheel.  An
interpreter that cannot build is skipped with the reason, and the build
fails only when one that could, did not.  dist/wheels.json records, for
each interpreter, its wheel or why it has none; tests/test_wheels.py
installs and runs each.
"""
import argparse
import glob
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEBIAN_PYTHON = "/usr/bin/python3"
OLDEST = (3, 8)


def interpreters():
    """Debian's Python, then each pyenv CPython 3.8+, as paths."""
    found = [DEBIAN_PYTHON] if os.path.exists(DEBIAN_PYTHON) else []
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for path in sorted(glob.glob(os.path.join(root, "versions", "3.*",
                                              "bin", "python3")),
                       key=lambda p: _version_key(p.split(os.sep)[-3])):
        found.append(path)
    return found


def _version_key(text):
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))


def describe(python):
    """What an interpreter is and has: version, ABI tag, headers, pip."""
    code = ("import json, os, sys, sysconfig, importlib.util as u\n"
            "inc = sysconfig.get_paths()['include']\n"
            "print(json.dumps({'version': sys.version.split()[0],\n"
            "  'tag': 'cp%d%d' % sys.version_info[:2],\n"
            "  'cpython': sys.implementation.name == 'cpython',\n"
            "  'headers': os.path.exists(os.path.join(inc, 'Python.h')),\n"
            "  'pip': u.find_spec('pip') is not None}))\n")
    out = subprocess.run([python, "-c", code], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def build_tools_dir(into):
    """A folder for PYTHONPATH with Debian's setuptools and wheel: their
    top-level packages and their metadata (setuptools finds bdist_wheel by
    wheel's entry points)."""
    for name in ("setuptools", "wheel"):
        dist = importlib.metadata.distribution(name)
        site = str(dist.locate_file(""))
        entries = (dist.read_text("top_level.txt") or name).split()
        entries += [os.path.basename(p) for p in glob.glob(os.path.join(
            site, "%s-%s*-info" % (name, dist.version)))]
        for entry in entries:
            os.symlink(os.path.join(site, entry), os.path.join(into, entry))
    return into


def build_sdist(dist):
    subprocess.run([DEBIAN_PYTHON, "setup.py", "-q", "sdist", "-d", dist],
                   cwd=HERE, check=True)
    (sdist,) = glob.glob(os.path.join(dist, "dolon-*.tar.gz"))
    return sdist


def build_wheel(python, info, sdist, dist, tools, work):
    """Build python's wheel from the sdist; its path, or raise."""
    source = os.path.join(work, info["tag"])
    with tarfile.open(sdist) as tar:
        tar.extractall(source)
    (source,) = glob.glob(os.path.join(source, "dolon-*"))
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if python != DEBIAN_PYTHON:
        env["PYTHONPATH"] = tools
    out = subprocess.run(
        [python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
         "--no-index", "--disable-pip-version-check", "-q", "-w", dist, "."],
        cwd=source, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stdout[-3000:] + out.stderr[-3000:])
    (wheel,) = glob.glob(os.path.join(dist, "dolon-*-%s-%s-*.whl"
                                      % (info["tag"], info["tag"])))
    return wheel


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=os.path.join(HERE, "dist"))
    args = parser.parse_args(argv)
    dist = os.path.abspath(args.dist)
    os.makedirs(dist, exist_ok=True)
    for old in glob.glob(os.path.join(dist, "dolon-*")):
        os.remove(old)

    sdist = build_sdist(dist)
    report, by_tag, failed = [], {}, False
    with tempfile.TemporaryDirectory(prefix="dolon-wheels-") as work:
        tools = build_tools_dir(tempfile.mkdtemp(dir=work))
        for python in interpreters():
            info = describe(python)
            entry = {"python": python}
            if info is None:
                entry["skipped"] = "does not run"
            else:
                entry.update(version=info["version"], tag=info["tag"])
                reason = None
                if not info["cpython"]:
                    reason = "not CPython"
                elif _version_key(info["version"])[:2] < OLDEST:
                    reason = "older than 3.8, which dolon does not support"
                elif info["tag"] in by_tag:
                    entry["wheel"] = by_tag[info["tag"]]
                    entry["covered_by"] = "the wheel of another %s" % (
                        info["tag"])
                elif not info["headers"]:
                    reason = "no Python.h (Debian: python3-dev)"
                elif not info["pip"]:
                    reason = "no pip"
                if reason:
                    entry["skipped"] = reason
                elif "wheel" not in entry:
                    try:
                        wheel = build_wheel(python, info, sdist, dist, tools,
                                            work)
                    except (RuntimeError, ValueError,
                            subprocess.SubprocessError) as exc:
                        entry["failed"] = str(exc)
                        failed = True
                    else:
                        entry["wheel"] = by_tag[info["tag"]] = \
                            os.path.basename(wheel)
            report.append(entry)
            print("  %-8s %-45s %s" % (
                entry.get("version", "?"), python,
                entry.get("wheel") and "%s%s" % (entry["wheel"], (
                    " (covered)" if "covered_by" in entry else ""))
                or "skipped: %s" % entry.get("skipped")
                if "failed" not in entry else "FAILED"))
    with open(os.path.join(dist, "wheels.json"), "w") as f:
        json.dump({"sdist": os.path.basename(sdist), "interpreters": report},
                  f, indent=1)
    if failed:
        for entry in report:
            if "failed" in entry:
                sys.stderr.write("%s:\n%s\n" % (entry["python"],
                                                entry["failed"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
