"""The Hub-compatible test server (tests/hub_server.py) against the real huggingface_hub
client: what the hub tests rely on. Every request stays on 127.0.0.1 (checked), no token
from the machine is used, `endpoint=` and `cache_dir=` are passed explicitly."""
from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hub_server import LFS_THRESHOLD, FakeHub, payload
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)


REPO = "acme/tiny-llm"
MB = 1024 * 1024
FILES: dict[str, bytes] = {
    "config.json": b'{"model_type": "tiny", "hidden_size": 8}\n',
    "README.md": b"# tiny-llm\n\nA test model.\n",
    "tokenizer.json": payload("tokenizer.json", 200_000),
    "model.safetensors": payload("model.safetensors", 3 * MB + 17),
    "gguf/tiny-Q4_K_M.gguf": payload("q4", 2 * MB + 5),
    "gguf/notes.txt": b"quantized with llama.cpp\n",
}


@pytest.fixture(autouse=True)
def isolated_hf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Any]]:
    """No token, no telemetry, no offline mode from the machine; refuse and record any
    connection that is not to 127.0.0.1."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE",
                 "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # huggingface_hub read these at import time: patch the values it already holds.
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    escaped: list[Any] = []
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] != "127.0.0.1":
            escaped.append(address)
            raise ConnectionRefusedError(f"test isolation: no connection to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield escaped
    assert escaped == [], f"requests left 127.0.0.1: {escaped}"


@pytest.fixture
def repo(hub: FakeHub) -> str:
    """REPO on the hub: two LFS files, four small ones; tag v1. Returns the commit sha."""
    return hub.add_repo(REPO, FILES, tags=["v1"])


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def test_snapshot_download_gives_identical_bytes(hub: FakeHub, repo: str, tmp_path: Path) -> None:
    path = snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path / "c")
    assert Path(path).name == repo
    assert _tree(Path(path)) == FILES
    # Hugging Face cache layout: blobs named by sha256 (LFS) or git oid (small files).
    blobs = {p.name for p in (tmp_path / "c" / "models--acme--tiny-llm" / "blobs").iterdir()}
    info = {f.path: f for f in HfApi(endpoint=hub.url).list_repo_tree(REPO, recursive=True)
            if hasattr(f, "blob_id")}
    assert info["model.safetensors"].lfs is not None
    assert info["config.json"].lfs is None
    assert blobs == {f.lfs.sha256 if f.lfs else f.blob_id for f in info.values()}
    assert (tmp_path / "c" / "models--acme--tiny-llm" / "refs" / "main").read_text() == repo
    # Every body came over plain HTTP from the resolve endpoint, once each.
    assert sorted(hub.file_gets(REPO)) == sorted(f"/{REPO}/resolve/{repo}/{n}" for n in FILES)


def test_model_info_by_branch_tag_and_sha(hub: FakeHub, repo: str) -> None:
    api = HfApi(endpoint=hub.url)
    for rev in (None, "main", "v1", repo, "refs/heads/main"):
        info = api.model_info(REPO, revision=rev, files_metadata=True)
        assert info.id == REPO and info.sha == repo
        sizes = {s.rfilename: s.size for s in info.siblings or []}
        assert sizes == {n: len(d) for n, d in FILES.items()}
        assert info.last_modified is not None and info.gated is False and info.private is False
    refs = api.list_repo_refs(REPO)
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", repo)]
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", repo)]


def test_tree_lfs_fields_and_paging(hub: FakeHub, repo: str) -> None:
    hub.tree_page_size = 2
    entries = list(HfApi(endpoint=hub.url).list_repo_tree(REPO, revision=repo, recursive=True))
    files = {e.path: e for e in entries if hasattr(e, "blob_id")}
    assert set(files) == set(FILES)
    assert [e.path for e in entries if not hasattr(e, "blob_id")] == ["gguf"]
    for name, data in FILES.items():
        assert files[name].size == len(data)
        assert (files[name].lfs is not None) == (len(data) > LFS_THRESHOLD)
    assert files["model.safetensors"].lfs.size == len(FILES["model.safetensors"])
    pages = [p for m, p, _ in hub.requests if p.startswith(f"/api/models/{REPO}/tree/")]
    assert len(pages) == 4  # 7 entries, 2 per page
    top = list(HfApi(endpoint=hub.url).list_repo_tree(REPO, path_in_repo="gguf", revision="v1"))
    assert sorted(e.path for e in top) == ["gguf/notes.txt", "gguf/tiny-Q4_K_M.gguf"]


def test_dry_run_then_patterns_then_cache(hub: FakeHub, repo: str, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    plan = snapshot_download(REPO, endpoint=hub.url, cache_dir=cache, dry_run=True)
    assert {p.filename: p.file_size for p in plan} == {n: len(d) for n, d in FILES.items()}
    assert all(p.will_download and not p.is_cached and p.commit_hash == repo for p in plan)
    assert not (cache / "models--acme--tiny-llm" / "blobs").exists()
    assert hub.file_gets() == []

    path = snapshot_download(REPO, endpoint=hub.url, cache_dir=cache,
                             allow_patterns=["*.json", "gguf/*"], ignore_patterns=["*.txt"])
    assert set(_tree(Path(path))) == {"config.json", "tokenizer.json", "gguf/tiny-Q4_K_M.gguf"}

    plan = {p.filename: p for p in snapshot_download(REPO, endpoint=hub.url, cache_dir=cache,
                                                     dry_run=True)}
    cached = {n for n, p in plan.items() if p.is_cached}
    assert cached == {"config.json", "tokenizer.json", "gguf/tiny-Q4_K_M.gguf"}
    assert {n for n, p in plan.items() if p.will_download} == set(FILES) - cached
    assert plan["gguf/tiny-Q4_K_M.gguf"].file_size == len(FILES["gguf/tiny-Q4_K_M.gguf"])

    snapshot_download(REPO, endpoint=hub.url, cache_dir=cache)
    hub.requests.clear()
    path = snapshot_download(REPO, endpoint=hub.url, cache_dir=cache)
    assert _tree(Path(path)) == FILES
    # From cache: one revision lookup, no HEAD, no body.
    assert [(m, p) for m, p, _ in hub.requests] == [("GET", f"/api/models/{REPO}/revision/main")]


def test_new_commit_keeps_old_sha_resolvable(hub: FakeHub, repo: str, tmp_path: Path) -> None:
    second = hub.add_repo(REPO, {**FILES, "config.json": b'{"v": 2}'})
    assert second != repo and len(second) == 40
    new = hf_hub_download(REPO, "config.json", endpoint=hub.url, cache_dir=tmp_path)
    old = hf_hub_download(REPO, "config.json", revision=repo, endpoint=hub.url, cache_dir=tmp_path)
    tagged = hf_hub_download(REPO, "config.json", revision="v1", endpoint=hub.url,
                             cache_dir=tmp_path)
    assert Path(new).read_bytes() == b'{"v": 2}'
    assert Path(old).read_bytes() == Path(tagged).read_bytes() == FILES["config.json"]
    dev = hub.add_repo(REPO, {"only.txt": b"dev"}, branch="dev")
    assert HfApi(endpoint=hub.url).model_info(REPO, revision="dev").sha == dev
    assert HfApi(endpoint=hub.url).model_info(REPO).sha == second


def test_range_requests(hub: FakeHub, repo: str) -> None:
    data = FILES["model.safetensors"]
    url = f"{hub.url}/{REPO}/resolve/main/model.safetensors"
    with httpx2.Client() as c:
        head = c.head(url)
        assert head.status_code == 200
        assert head.headers["X-Repo-Commit"] == repo
        assert head.headers["Accept-Ranges"] == "bytes"
        assert head.headers["X-Linked-Size"] == head.headers["Content-Length"] == str(len(data))
        assert head.headers["X-Linked-Etag"].strip('"') == head.headers["ETag"].strip('"')
        assert not [h for h in head.headers if h.lower().startswith("x-xet")]
        assert "xet" not in head.headers.get("Link", "")
        r = c.get(url, headers={"Range": "bytes=100-199"})
        assert (r.status_code, r.headers["Content-Range"]) == (206, f"bytes 100-199/{len(data)}")
        assert r.content == data[100:200]
        r = c.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
        assert r.status_code == 206 and r.content == data[-10:]
        r = c.get(url, headers={"Range": "bytes=-7"})
        assert r.status_code == 206 and r.content == data[-7:]
        r = c.get(url, headers={"Range": f"bytes={len(data)}-"})
        assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"
        small = c.head(f"{hub.url}/{REPO}/resolve/{repo}/config.json")
        assert "X-Linked-Etag" not in small.headers and small.headers["ETag"].strip('"')


def test_client_resumes_a_cut_transfer_with_range(hub: FakeHub, tmp_path: Path) -> None:
    # The client writes what it received only in DOWNLOAD_CHUNK_SIZE (10 MB) pieces: a body
    # cut earlier is re-fetched from 0; cut after the first piece, it resumes with a Range.
    chunk = constants.DOWNLOAD_CHUNK_SIZE
    data = payload("resume", chunk + 2 * MB)
    hub.add_repo("acme/resume", {"w.bin": data})
    hub.drop_after = chunk + MB // 2
    path = hf_hub_download("acme/resume", "w.bin", endpoint=hub.url, cache_dir=tmp_path)
    assert Path(path).read_bytes() == data
    gets = [h for m, p, h in hub.requests if m == "GET" and p.endswith("/w.bin")]
    assert [h.get("Range") for h in gets] == [None, f"bytes={chunk}-"]
    assert hub.drop_after is None  # one-shot


def test_errors_map_to_client_exceptions(hub: FakeHub, repo: str, tmp_path: Path) -> None:
    kw: dict[str, Any] = {"endpoint": hub.url, "cache_dir": tmp_path}
    with pytest.raises(RepositoryNotFoundError) as e:
        snapshot_download("acme/missing", **kw)
    assert not isinstance(e.value, GatedRepoError)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/missing", "config.json", **kw)
    with pytest.raises(RevisionNotFoundError):
        snapshot_download(REPO, revision="no-such-branch", **kw)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "config.json", revision="0" * 40, **kw)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "missing.bin", **kw)


def test_gated_and_private_repos(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("acme/gated", {"w.bin": b"secret"}, gated=True, token="hf_right")
    hub.add_repo("acme/private", {"w.bin": b"private"}, token="hf_mine")
    kw: dict[str, Any] = {"endpoint": hub.url, "cache_dir": tmp_path}
    with pytest.raises(GatedRepoError) as e:
        snapshot_download("acme/gated", **kw)
    assert e.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as e:
        hf_hub_download("acme/gated", "w.bin", token="hf_wrong", **kw)
    assert e.value.response.status_code == 403
    path = snapshot_download("acme/gated", token="hf_right", **kw)
    assert (Path(path) / "w.bin").read_bytes() == b"secret"
    assert {h.get("Authorization") for m, p, h in hub.requests if "gated" in p} == {
        None, "Bearer hf_wrong", "Bearer hf_right"}
    with pytest.raises(RepositoryNotFoundError) as e:
        snapshot_download("acme/private", **kw)
    assert not isinstance(e.value, GatedRepoError)
    assert HfApi(endpoint=hub.url, token="hf_mine").model_info("acme/private").private is True


def test_server_failure(hub: FakeHub, repo: str, tmp_path: Path) -> None:
    hub.fail_status = 500
    with pytest.raises(HfHubHTTPError) as e:
        HfApi(endpoint=hub.url).model_info(REPO)
    assert e.value.response.status_code == 500
    # snapshot_download does not retry the revision lookup: it reports the failure at once
    # as "not in the local cache", caused by the HTTP error.
    hub.fail_status = 503
    t0 = time.monotonic()
    with pytest.raises(LocalEntryNotFoundError) as e2:
        snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path)
    assert time.monotonic() - t0 < 2
    assert isinstance(e2.value.__cause__, HfHubHTTPError)
    assert e2.value.__cause__.response.status_code == 503
    hub.fail_status = None
    assert Path(snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path)).name == repo


@pytest.mark.parametrize("target", [
    "/api/models/acme/..%2F..%2Fetc/revision/main",
    "/api/models/..%2Facme/tiny-llm/revision/main",
    "/api/models/acme%2Ftiny-llm/x/revision/main",
    "/acme/../acme/tiny-llm/resolve/main/config.json",
    "/acme/tiny-llm/resolve/main/..%2F..%2F..%2Fetc%2Fpasswd",
    "/acme/tiny-llm/resolve/main/gguf/../config.json",
    "/acme/tiny-llm/resolve/..%2Fmain/config.json",
    "/acme%2Ftiny-llm/resolve/main/config.json",
])
def test_path_tricks_only_miss(hub: FakeHub, repo: str, target: str) -> None:
    host, port = hub.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", target)  # raw: no client-side normalisation of `..`
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 404, (target, resp.status)
    assert resp.getheader("X-Error-Code") in (None, "RepoNotFound", "RevisionNotFound",
                                              "EntryNotFound")
    assert b"root:" not in body
    with pytest.raises(ValueError):
        hub.add_repo("acme/../etc", {"a": b""})
    with pytest.raises(ValueError):
        hub.add_repo("a/b/c", {"a": b""})


def test_throttle_paces_the_body(hub: FakeHub, tmp_path: Path) -> None:
    data = payload("slow", 2 * MB)
    hub.add_repo("acme/slow", {"slow.bin": data})
    hub.throttle = 1 * MB  # bytes per second
    t0 = time.monotonic()
    path = hf_hub_download("acme/slow", "slow.bin", endpoint=hub.url, cache_dir=tmp_path)
    elapsed = time.monotonic() - t0
    assert Path(path).read_bytes() == data
    assert 1.7 < elapsed < 4.0, elapsed


def test_client_disconnect_and_stop_are_clean(hub: FakeHub, tmp_path: Path) -> None:
    data = payload("big", 4 * MB)
    hub.add_repo("acme/big", {"big.bin": data})
    hub.throttle = 256 * 1024
    url = f"{hub.url}/acme/big/resolve/main/big.bin"
    with httpx2.Client() as c, c.stream("GET", url) as r:
        assert r.status_code == 200
        next(r.iter_bytes())  # read a little, then hang up mid-body
    hub.throttle = None
    with httpx2.Client() as c:  # the server still answers
        assert c.get(url, headers={"Range": "bytes=0-3"}).content == data[:4]

    hub.throttle = 256 * 1024  # a transfer still running when the server stops
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            with httpx2.Client() as c:
                c.get(url).raise_for_status()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assert
            errors.append(exc)

    t = threading.Thread(target=fetch)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    hub.stop()
    assert time.monotonic() - t0 < 2
    t.join(5)
    assert not t.is_alive() and errors  # the cut body surfaced as an error, not a hang


def test_lfs_redirect_to_cdn_drops_the_token(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("acme/gated-lfs", FILES, gated=True, token="hf_tok")
    hub.lfs_redirect = True
    path = snapshot_download("acme/gated-lfs", endpoint=hub.url, cache_dir=tmp_path,
                             token="hf_tok")
    assert _tree(Path(path)) == FILES
    cdn = [(m, h) for m, p, h in hub.requests if p.startswith("/lfs/")]
    assert {m for m, _ in cdn} == {"GET"} and len(cdn) == 2  # the two LFS files
    assert all("Authorization" not in h for _, h in cdn)


def test_standalone_context_manager() -> None:
    with FakeHub() as h:
        sha = h.add_repo("a/b", {"x": b"1"})
        assert h.url.startswith("http://127.0.0.1:")
        assert HfApi(endpoint=h.url).model_info("a/b").sha == sha
    assert os.environ.get("HF_TOKEN") is None
