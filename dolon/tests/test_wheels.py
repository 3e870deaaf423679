"""The wheels of `make wheels`, as a user installs them: for every CPython on
the machine, a fresh virtual environment of that Python, the wheel file
installed with `pip install --no-index` (no compiler, no network), and the
repository's example program traced into a throw-away pg_mnemic, whose rows
must arrive.  Then the inspect/asyncio identity checks and a UDP smoke test
(compat_smoke.py) against the installed package.

Reads dist/wheels.json, which `make wheels` writes (make check and
make check-compat build the wheels first).
"""
import ast
import json
import os
import re
import subprocess
import tarfile
import zipfile

import pytest

from conftest import DOLON_ROOT, HERE, REPO_ROOT

DIST = os.path.join(DOLON_ROOT, "dist")
DEBIAN_PYTHON = "/usr/bin/python3"
EXAMPLE = os.path.join(REPO_ROOT, "examples", "demo.py")
NEWEST_GLIBC = (2, 17)          # what dolon/README.md promises


def source_version():
    """dolon.__version__ as written in the source, without importing it."""
    with open(os.path.join(DOLON_ROOT, "dolon", "__init__.py")) as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and \
                    node.targets[0].id == "__version__":
                return node.value.value
    raise AssertionError("no __version__ in dolon/__init__.py")


def built():
    path = os.path.join(DIST, "wheels.json")
    if not os.path.exists(path):
        pytest.skip("no dist/wheels.json: run make wheels")
    with open(path) as f:
        return json.load(f)


def interpreters():
    path = os.path.join(DIST, "wheels.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        report = json.load(f)["interpreters"]
    return [pytest.param(e, id="%s-%s" % (e.get("version", "?"),
                                          "debian" if e["python"] ==
                                          DEBIAN_PYTHON else "pyenv"))
            for e in report if "wheel" in e or "failed" in e]


def run(argv, **kwargs):
    kwargs.setdefault("timeout", 300)
    out = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert out.returncode == 0, "%s:\n%s%s" % (argv, out.stdout, out.stderr)
    return out.stdout


def make_venv(python, where):
    """A fresh venv of python, and the pip command that installs into it.

    Debian's Python without python3-venv has no ensurepip: then the venv is
    made without pip and Debian's pip installs into it (pip --python)."""
    out = subprocess.run([python, "-m", "venv", where], capture_output=True,
                         text=True, timeout=300)
    venv_python = os.path.join(where, "bin", "python")
    if out.returncode == 0:
        return venv_python, [venv_python, "-m", "pip"]
    assert "ensurepip" in out.stdout + out.stderr, out.stdout + out.stderr
    run([python, "-m", "venv", "--without-pip", where])
    return venv_python, [DEBIAN_PYTHON, "-m", "pip", "--python",
                         venv_python]


def clean_env(**extra):
    """The environment of a user's shell: nothing points into the tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "DOLON_", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def test_every_interpreter_has_a_wheel_or_a_reason():
    report = built()
    assert report["interpreters"], "no interpreter found"
    assert not [e for e in report["interpreters"] if "failed" in e]
    for entry in report["interpreters"]:
        assert "wheel" in entry or entry.get("skipped"), entry
    debian = [e for e in report["interpreters"]
              if e["python"] == DEBIAN_PYTHON]
    assert debian and "wheel" in debian[0], "Debian's Python has no wheel"


def test_sdist_has_every_source_and_the_version():
    sdist = os.path.join(DIST, built()["sdist"])
    version = source_version()
    assert os.path.basename(sdist) == "dolon-%s.tar.gz" % version
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    sources = {"src/" + n for n in os.listdir(os.path.join(DOLON_ROOT, "src"))
               if n.endswith((".c", ".h"))}
    python = {"dolon/" + n for n in os.listdir(os.path.join(DOLON_ROOT,
                                                            "dolon"))
              if n.endswith(".py")}
    assert sources | python | {"setup.py", "pyproject.toml",
                               "README.md"} <= names


@pytest.mark.parametrize("entry", interpreters())
def test_wheel_holds_one_core_for_its_python_needing_old_glibc(entry):
    assert "failed" not in entry, entry["failed"]
    wheel = os.path.join(DIST, entry["wheel"])
    tag = entry["tag"]
    assert re.fullmatch(r"dolon-%s-%s-%s-linux_x86_64\.whl"
                        % (re.escape(source_version()), tag, tag),
                        entry["wheel"])
    with zipfile.ZipFile(wheel) as z:
        cores = [n for n in z.namelist() if n.startswith("dolon/_core")]
        assert len(cores) == 1 and "-%s" % tag[2:] in cores[0], cores
        wheel_meta = z.read("dolon-%s.dist-info/WHEEL"
                            % source_version()).decode()
        core = z.read(cores[0])
    assert "Tag: %s-%s-linux_x86_64" % (tag, tag) in wheel_meta
    needed = glibc_versions(core)
    assert needed and max(needed) <= NEWEST_GLIBC, needed


def glibc_versions(elf_bytes):
    """The GLIBC_x.y symbol versions an ELF file asks for."""
    return {tuple(int(p) for p in m.split(b"."))
            for m in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)\0", elf_bytes)}


@pytest.mark.parametrize("entry", interpreters())
def test_wheel_installs_in_a_fresh_venv_and_its_rows_arrive(
        entry, backend, tmp_path):
    assert "failed" not in entry, entry["failed"]
    python = entry["python"]
    venv_python, pip = make_venv(python, str(tmp_path / "venv"))
    run(pip + ["install", "--no-index", "--no-deps", "--quiet",
               "--disable-pip-version-check",
               os.path.join(DIST, entry["wheel"])], env=clean_env())
    env = clean_env()
    version = source_version()

    # the installed package, not the tree; one version everywhere
    out = run([venv_python, "-c",
               "import dolon, importlib.metadata as m, sys; "
               "print(dolon.__version__, m.version('dolon'), "
               "dolon.__file__.startswith(sys.prefix))"],
              cwd=str(tmp_path), env=env)
    assert out.split() == [version, version, "True"]
    assert run([venv_python, "-m", "dolon", "--version"], cwd=str(tmp_path),
               env=env).strip() == "dolon " + version
    assert run([str(tmp_path / "venv" / "bin" / "dolon"), "--version"],
               env=env).strip() == "dolon " + version

    # the example program, traced into the cluster
    tracer = "wheel-%s-%s" % (entry["version"], os.getpid())
    run([venv_python, EXAMPLE, "--tracer", tracer, "--port",
         str(backend.udp_port), "--seconds", "1.5", "--frequency", "0.2"],
        cwd=str(tmp_path), env=env, timeout=120)
    backend.wait_for(
        "SELECT count(*) FROM mnemic.samples WHERE tracer = %s "
        "AND metric = 'crunch_hits'", lambda r: r[0][0] >= 3, timeout=30,
        params=(tracer,))
    metrics = {m for (m,) in backend.query(
        "SELECT DISTINCT metric FROM mnemic.samples WHERE tracer = %s",
        (tracer,))}
    assert {"handle_request_hits", "handle_request_average_time",
            "crunch_hits", "cpu_percent", "memory_use",
            "active_tasks"} <= metrics, metrics
    backend.wait_for(
        "SELECT r.ended IS NOT NULL AND r.python_version = %s "
        "FROM mnemic.run r JOIN mnemic.tracer t ON t.id = r.tracer_id "
        "WHERE t.name = %s", lambda r: r and r[0][0], timeout=30,
        params=(entry["version"], tracer))

    # inspect/asyncio identity and the UDP smoke test, installed
    out = run([venv_python, os.path.join(HERE, "compat_smoke.py")],
              cwd=str(tmp_path), env=env, timeout=120)
    assert out.startswith("ok %s" % entry["version"]), out
