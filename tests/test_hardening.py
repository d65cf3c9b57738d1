"""Every path a request names stays inside its root, interpreters are checked before they
run anything, and bad input is a 4xx, never a 5xx: through the REST API of a real
Jupyter server, with the store and the file system checked unchanged after each refusal."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.config import Settings
from jupyter_mlops.errors import Forbidden
from jupyter_mlops.services import Services

SECRET = "s3cret-outside-the-workspace"


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # Only the workspace and its model cache are roots here (conftest allows the whole run's
    # temporary folder). No worker: its heartbeat would change the store under the snapshots.
    monkeypatch.delenv("JUPYTER_MLOPS_EXTRA_ROOTS")
    return {**jp_server_config,
            "MLOpsApp": {**jp_server_config["MLOpsApp"], "run_worker": False, "max_body_bytes": 64 * 1024}}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the workspace holding a secret file (and a requirements-like one)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(f"root:{SECRET}:19000:0:99999:7:::\n")
    (folder / "requirements.txt").write_text("alpha\n")
    return folder


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    folder = jp_root_dir / "proj"
    folder.mkdir()
    (folder / "requirements.txt").write_text("alpha\n")
    (folder / ".env").write_text(f"DATABASE_URL=postgres://ada:{SECRET}@db/x\n")
    return folder


def snapshot(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a request could touch (no worker runs, nothing else writes)."""
    db = root / ".mlops" / "mlops.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = ("models", "releases", "jobs", "builds", "deps_runs", "audit_events", "settings")
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Each path below `folder` (links not followed) with its size and mtime."""
    found = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        found[str(path)] = (st.st_size, st.st_mtime_ns)
    return found


async def refused(api: Any, method: str, path: str, body: Any = None, *, status: int, field: str,
                  **params: Any) -> dict[str, Any]:
    code, answer = await api(method, path, body, **params)
    assert code == status and answer["field"] == field, (method, path, code, answer)
    assert SECRET not in json.dumps(answer)
    return answer


# -- the dependency doctor --------------------------------------------------------------------

async def test_requirement_files_and_projects_stay_inside_their_roots(
        api: Any, jp_root_dir: Path, project: Path, outside: Path) -> None:
    await api("GET", "health")
    python = sys.executable
    before, disk = snapshot(jp_root_dir), files(outside)
    for name in ("/etc/passwd", "/etc/shadow", str(outside / "secret.txt"), "../../outside/secret.txt",
                 "../requirements.txt"):
        answer = await refused(api, "GET", "deps/status", status=403, field="requirement_files", python=python,
                               project=str(project), requirement_files=name)
        assert "outside the allowed folders" in answer["message"]
        for verb in ("plan", "repair"):
            await refused(api, "POST", f"deps/{verb}", {"python": python, "project": str(project),
                                                        "requirement_files": [name]},
                          status=403, field="requirement_files")
    # a file inside the project that is not a requirements file: its line is not quoted
    answer = await refused(api, "GET", "deps/status", status=400, field=".env:1", python=python,
                           project=str(project), requirement_files=".env")
    assert answer["message"].startswith(".env:1: not a valid requirement")
    for folder in ("/etc", str(outside), "../../outside", "/"):
        await refused(api, "GET", "deps/status", status=403, field="project", python=python, project=folder)
    # a link inside the project that leads out of it counts as outside
    (project / "linked.txt").symlink_to(outside / "secret.txt")
    await refused(api, "GET", "deps/status", status=403, field="requirement_files", python=python,
                  project=str(project), requirement_files="linked.txt")
    # an include that leaves the allowed folders
    (project / "requirements.txt").write_text(f"alpha\n-r {outside / 'requirements.txt'}\n")
    await refused(api, "GET", "deps/status", status=403, field="requirements.txt:2", python=python,
                  project=str(project))
    await refused(api, "GET", "deps/status", status=400, field="project", python=python, project="x" * 300)
    assert snapshot(jp_root_dir) == before and files(outside) == disk


async def test_python_must_be_an_allowed_python_interpreter(
        api: Any, jp_root_dir: Path, project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    await api("GET", "health")
    before = snapshot(jp_root_dir)
    trap = tmp_path_factory.getbasetemp() / "ran-as-shell"
    for python in ("/bin/sh", "/usr/bin/env", "/usr/bin/python3"):  # executables, but no kernel's python
        answer = await refused(api, "GET", "deps/status", status=403, field="python", python=python,
                               project=str(project))
        assert "allowed_pythons" in answer["message"]
    # no answer tells whether a path outside the allowed places exists, or what it is
    answers = {python: (await refused(api, "GET", "deps/status", status=403, field="python", python=python,
                                      project=str(project)))["message"].split(" is not", 1)[1]
               for python in ("/root/.ssh/id_rsa", "/etc/shadow", "/nonexistent/python", "/usr/bin/id")}
    assert len(set(answers.values())) == 1, answers
    # next to an allowed interpreter, only a Python name counts: nothing else there is run
    sibling = Path(sys.executable).parent / "zz-not-python"
    sibling.write_text(f"#!/bin/sh\ntouch {trap}-sibling\n")
    sibling.chmod(0o755)
    try:
        await refused(api, "GET", "deps/status", status=403, field="python", python=str(sibling),
                      project=str(project))
    finally:
        sibling.unlink()
    assert not Path(f"{trap}-sibling").exists()
    # an executable inside an allowed folder that is not Python: asked once, never probed
    fake = tmp_path_factory.mktemp("fake-env") / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho '`whoami` said {SECRET}' >&2\necho not-python\ntouch {trap}$1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    answer = await refused(api, "GET", "deps/status", status=400, field="python", python=str(fake),
                           project=str(project))
    assert "is not a Python interpreter" in answer["message"]
    assert Path(f"{trap}-I").exists()  # asked with `-I -c CHECK`...
    assert not Path(f"{trap}-c").exists()  # ...but the probe script (`-c SCRIPT`) was never handed to it
    assert snapshot(jp_root_dir) == before


def test_the_same_rules_hold_for_every_face(tmp_path: Path, outside: Path) -> None:
    """The CLI, a kernel and the server share DepsService.target: a face without a server
    refuses the same way."""
    (tmp_path / "ws").mkdir()
    svc = Services(Settings.of(tmp_path / "ws"))
    with pytest.raises(Forbidden) as err:
        svc.deps.target("/bin/sh", str(tmp_path / "ws"))
    assert err.value.field == "python"
    with pytest.raises(Forbidden) as err:
        svc.deps.target(sys.executable, str(outside))
    assert err.value.field == "project"
    svc.store.dispose()


# -- the model cache ------------------------------------------------------------------------------

def fake_cache_repo(models: Path, repo: str, files: dict[str, Path | bytes]) -> Path:
    """A Hugging Face cache repo `models--org--name` with one revision: bytes become blobs,
    Paths become snapshot links to them (anywhere)."""
    folder = models / ("models--" + repo.replace("/", "--"))
    commit = "a" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    snap = folder / "snapshots" / commit
    snap.mkdir(parents=True)
    (folder / "blobs").mkdir()
    for name, content in files.items():
        if isinstance(content, Path):
            (snap / name).symlink_to(content)
        else:
            blob = folder / "blobs" / f"{len(content):064x}"
            blob.write_bytes(content)
            (snap / name).symlink_to(os.path.relpath(blob, snap))
    return folder


async def test_deleting_cache_files_never_follows_a_link_out(api: Any, jp_root_dir: Path, outside: Path) -> None:
    await api("GET", "health")
    models = jp_root_dir / "models"
    repo = fake_cache_repo(models, "org/evil2", {"a.bin": outside / "secret.txt", "ok.json": b"{}"})
    before, disk, cache = snapshot(jp_root_dir), files(outside), files(repo)
    for params in ({"files": "a.bin"}, {"files": "*"}):
        answer = await refused(api, "DELETE", "hub/models/org/evil2", status=403, field="files", **params)
        assert "outside the model cache" in answer["message"] and "nothing was deleted" in answer["message"]
    assert files(outside) == disk and files(repo) == cache and snapshot(jp_root_dir) == before
    # the listing reports no size or time of the file outside
    code, listed = await api("GET", "hub/models/org/evil2")
    assert code == 200 and listed["size_on_disk"] == 2 and listed["revisions"][0]["size_on_disk"] == 2
    # the whole repo goes as a folder: its links are removed, never followed
    code, answer = await api("DELETE", "hub/models/org/evil2")
    assert code == 200 and answer["scope"] == "repo", answer
    assert not repo.exists() and files(outside) == disk
    assert (outside / "secret.txt").read_text().startswith("root:")


async def test_deleting_a_repo_never_takes_another_with_the_same_commit(api: Any, jp_root_dir: Path) -> None:
    await api("GET", "health")
    models = jp_root_dir / "models"
    good = fake_cache_repo(models, "org/good", {"w.bin": b"good weights"})
    evil = fake_cache_repo(models, "org/evil", {"w.bin": b"other weights"})  # the same commit id
    code, answer = await api("DELETE", "hub/models/org/evil", revision="main")
    assert code == 200 and answer["repo_id"] == "org/evil", answer
    assert not evil.exists() and files(good) and (good / "refs" / "main").is_file()


# -- image builds --------------------------------------------------------------------------------

async def test_builds_read_nothing_outside_the_roots(api: Any, jp_root_dir: Path, outside: Path) -> None:
    (outside / "weights.bin").write_bytes(b"w" * 100)
    inner = jp_root_dir / "src" / "linked"
    inner.mkdir(parents=True)
    (inner / "weights.bin").write_bytes(b"w" * 100)
    (inner / "stolen.txt").symlink_to(outside / "secret.txt")
    made = {}
    await refused(api, "POST", "models", {"name": "escape", "storage_path": "hf://org/x@../../../../../../etc"},
                  status=400, field="storage_path")
    for name, storage in (("abs", str(outside)), ("rel", "../" * 8 + str(outside).lstrip("/")), ("etc", "/etc"),
                          ("linked", "src/linked"), ("long", "src/" + "y" * 300)):
        code, _ = await api("POST", "models", {"name": name, "storage_path": storage})
        assert code == 201
        code, made[name] = await api("POST", "releases", {"model": name, "version": "1.0"})
        assert code == 201, made[name]
    before = snapshot(jp_root_dir)
    for name in ("abs", "rel", "etc"):
        await refused(api, "POST", "builds", {"release_id": made[name]["id"]}, status=403, field="storage_path")
    await refused(api, "POST", "builds", {"release_id": made["long"]["id"]}, status=400, field="storage_path")
    code, answer = await api("POST", "builds", {"release_id": made["linked"]["id"]})
    assert code == 400 and "links outside the allowed folders" in answer["message"], answer
    assert SECRET not in json.dumps(answer)
    for body, field in (({"project": str(outside)}, "project"), ({"project": "../.."}, "project"),
                        ({"include": ["../outside"]}, "include[0]"), ({"include": ["/etc"]}, "include[0]")):
        await refused(api, "POST", "builds", {"release_id": made["abs"]["id"], **body}, status=400, field=field)
    (jp_root_dir / "escape").symlink_to(outside)  # inside by name, outside once resolved
    await refused(api, "POST", "builds", {"release_id": made["abs"]["id"], "project": "escape"}, status=403,
                  field="project")
    (inner / "stolen.txt").unlink()
    await refused(api, "POST", "builds", {"release_id": made["linked"]["id"], "include": ["escape"]}, status=403,
                  field="include")
    assert snapshot(jp_root_dir) == before


# -- no 5xx from input ---------------------------------------------------------------------------

async def test_malformed_input_is_400_naming_the_field(api: Any, jp_root_dir: Path) -> None:
    await api("GET", "health")
    before = snapshot(jp_root_dir)
    deep = "[" * 100_000 + "]" * 100_000
    code, answer = await api("POST", "models", raw=deep.encode())
    assert code in (400, 413) and answer["field"] == "body", answer
    code, answer = await api("POST", "models", raw=("[" * 5000 + "]" * 5000).encode())
    assert (code, answer["field"]) == (400, "body") and "nest" in answer["message"]
    deep_metadata = '{"name": "deep", "storage_path": "/d", "metadata": ' + '{"k": ' * 5000 + '"x"' + "}" * 5001
    code, answer = await api("POST", "models", raw=deep_metadata.encode())
    assert code == 400 and answer["field"] == "body", answer
    nested: Any = "x"
    for _ in range(40):
        nested = {"k": nested}
    await refused(api, "POST", "models", {"name": "deep", "storage_path": "/d", "metadata": nested},
                  status=400, field="metadata")
    for raw_body, field in ((b'{"name": "inf", "storage_path": "/d", "metadata": {"x": 1e400}}', "metadata"),
                            (b'{"name": "inf", "storage_path": "/d", "parameter_count": 1e400}', "parameter_count")):
        code, answer = await api("POST", "models", raw=raw_body)  # 1e400 decodes to inf, which JSON cannot say
        assert (code, answer["field"]) == (400, field), answer
    for body, field in (({"name": "m", "storage_path": "/d", "description": "\udc00"}, "description"),
                        ({"name": "m", "storage_path": "/d", "metadata": {"\udc00": 1}}, "metadata"),
                        ({"name": "m", "storage_path": "/d", "tags": ["ok", "\ud800x"]}, "tags[1]")):
        raw = json.dumps(body).encode()  # \\udc00 escapes: valid JSON text, a lone surrogate once decoded
        code, answer = await api("POST", "models", raw=raw)
        assert (code, answer["field"]) == (400, field), answer
        assert "lone surrogate" in answer["message"]
    assert snapshot(jp_root_dir) == before


async def test_a_large_body_is_refused_before_it_is_read(api: Any, jp_root_dir: Path, jp_http_port: int,
                                                         jp_base_url: str, jp_auth_header: dict[str, str]) -> None:
    await api("GET", "health")
    code, answer = await api("POST", "models", raw=b" " * (65 * 1024))
    assert (code, answer["error"], answer["field"]) == (413, "TooLarge", "body")
    # 200 MB announced, nothing sent: the answer comes at once (nothing is waited for or read)
    path = f"{jp_base_url.rstrip('/')}/mlops/api/models"
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: {jp_auth_header['Authorization']}\r\nContent-Length: {200 << 20}\r\n\r\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)  # the server shares this loop
    writer.write(head.encode())
    await writer.drain()
    reply = (await asyncio.wait_for(reader.read(4096), timeout=10)).decode("latin-1")
    writer.close()
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert '"field": "body"' in reply
    # a chunked body (no length told) is cut off at the cap with the same JSON answer, and the
    # verb never runs (a promote takes no body: it would act on an empty one)
    code, _ = await api("POST", "models", {"name": "big", "storage_path": "/d"})
    code, release = await api("POST", "releases", {"model": "big", "version": "1.0"})
    assert code == 201
    head = (f"POST {jp_base_url.rstrip('/')}/mlops/api/releases/{release['id']}/promote HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: {jp_auth_header['Authorization']}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    writer.write(head.encode())
    chunk = b"x" * 16384
    try:
        for _ in range(8):  # 128 KiB in all, twice the cap
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the server may close as soon as it has answered
    reply = (await asyncio.wait_for(reader.read(4096), timeout=10)).decode("latin-1")
    writer.close()
    assert reply.startswith("HTTP/1.1 413") and '"field": "body"' in reply, reply[:300]
    await asyncio.sleep(0.5)  # had the verb run, it would have by now
    code, now = await api("GET", f"releases/{release['id']}")
    assert now["status"] == "candidate", now


async def test_every_answer_under_the_api_is_documented_json(api: Any, jp_fetch: Any, jp_serverapp: Any) -> None:
    for path in ("releases/-1", "releases/abc", "jobs/x/log", "nope", "models/m/x/y/z"):
        code, answer = await api("GET", path)
        assert code == 404 and answer["error"] == "NotFound", (path, answer)
    resp = await jp_fetch("mlops", "api", "models", method="PUT", body=b"{}", raise_error=False)
    assert resp.code == 405 and json.loads(resp.body)["error"] == "MethodNotAllowed"
    assert resp.headers["Allow"] == "GET, POST"
    # Jupyter's own ?token= login is not an unknown query parameter
    token = jp_serverapp.identity_provider.token
    resp = await jp_fetch("mlops", "api", "models", params={"token": token}, raise_error=False)
    assert resp.code == 200
    # not logged in: Jupyter's 403, as this API's JSON error
    resp = await jp_fetch("mlops", "api", "models", method="GET", headers={"Authorization": ""}, raise_error=False)
    assert resp.code == 403 and json.loads(resp.body)["error"] == "Forbidden"


async def test_a_browser_post_without_its_xsrf_token_is_a_json_403(
        jp_serverapp: Any, http_server_client: Any, jp_base_url: str) -> None:
    """Logged in by cookie (as the sidebar is) but without the XSRF token: Jupyter refuses,
    in this API's error shape."""
    base = jp_base_url.rstrip("/")
    token = jp_serverapp.identity_provider.token
    login = await http_server_client.fetch(f"{base}/api/status?token={token}", raise_error=False)
    assert login.code == 200
    cookies = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    assert cookies, "no login cookie"
    refused = await http_server_client.fetch(f"{base}/mlops/api/models", method="POST", body=b"{}",
                                             headers={"Cookie": cookies}, raise_error=False)
    answer = json.loads(refused.body)
    assert refused.code == 403 and answer["error"] == "Forbidden" and "_xsrf" in answer["message"], answer
