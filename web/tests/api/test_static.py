"""--static serves the UI's folder and nothing else: no dotfiles, and no
symbolic link that leads out of the folder, whatever the spelling of the
path."""
import os

import pytest

from webserver import WebServer

SECRET = b"secret outside the static folder\n"


@pytest.fixture(scope="module")
def static_web(cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("static")
    root = base / "www"
    outside = base / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "index.html").write_text("<!doctype html><title>mnemic</title>\n")
    (root / "app.js").write_text("export const ok = 1;\n")
    (root / ".env").write_text("PASSWORD=hunter2\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "sub").mkdir()
    (root / "sub" / "page.html").write_text("<p>sub</p>\n")
    (root / "sub" / ".hidden").write_text("hidden\n")
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "index.html").write_bytes(SECRET)
    os.symlink(outside / "secret.txt", root / "link-out.txt")
    os.symlink(outside, root / "dir-out")
    os.symlink("../outside/secret.txt", root / "sub" / "relative-out.txt")
    (root / "indexed").mkdir()
    os.symlink(outside / "index.html", root / "indexed" / "index.html")
    os.symlink(root / "app.js", root / "link-in.js")
    with WebServer(cluster.uri(), extra_args=["--static", str(root)]) as w:
        yield w


@pytest.mark.parametrize("path", [
    "/", "/index.html", "/app.js", "/sub/page.html",
    "/link-in.js",                       # a link that stays inside is fine
])
def test_files_inside_are_served(static_web, path):
    status, _, body = static_web.request("GET", path)
    assert status == 200, (path, body[:200])


@pytest.mark.parametrize("path", [
    "/.env", "/%2eenv", "/%2Eenv", "/./.env", "/sub/../.env", "/x/%2e%2e/.env",
    "/.git/config", "/.git/", "/sub/.hidden", "/sub/%2ehidden",
])
def test_dotfiles_are_not_served(static_web, path):
    status, _, body = static_web.request("GET", path)
    assert status == 404, (path, status, body[:200])
    assert b"hunter2" not in body and b"[core]" not in body and b"hidden" not in body


@pytest.mark.parametrize("path", [
    "/link-out.txt", "/dir-out/secret.txt", "/dir-out/", "/dir-out/index.html",
    "/sub/relative-out.txt", "/indexed/", "/%64ir-out/secret.txt",
])
def test_links_out_of_the_folder_are_not_followed(static_web, path):
    status, _, body = static_web.request("GET", path)
    assert status == 404, (path, status)
    assert SECRET not in body


def test_the_api_is_unchanged_by_the_guard(static_web):
    assert static_web.get_json("/healthz")["status"] == "ok"
    assert static_web.get_json("/api/nope", expect=404)["error"]["status"] == 404
