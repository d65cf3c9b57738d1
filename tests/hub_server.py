"""A Hub-compatible HTTP server on 127.0.0.1 for the tests, speaking the subset of the
Hugging Face Hub protocol that the real huggingface_hub 2.4 client uses to read models.

Use from a test module (the lead registers the plugin in tests/conftest.py):

    def test_x(hub, tmp_path):                       # fixture: a started FakeHub
        sha = hub.add_repo("org/tiny", {"config.json": b"{}", "w.bin": payload("w", 3 << 20)})
        snapshot_download("org/tiny", endpoint=hub.url, cache_dir=tmp_path)

Or standalone: ``with FakeHub() as hub: ...``.

Endpoints (models only; repo ids are ``org/name`` or, like the Hub's legacy canonical models,
a single ``name`` such as ``gpt2``):

- ``GET /api/models/{org}/{name}`` and ``/api/models/{org}/{name}/revision/{rev}`` - model
  info (``id``, ``sha``, ``siblings`` with ``size``/``blobId``/``lfs``, ``lastModified``,
  ``private``, ``gated``...). ``rev`` is a branch, tag or full commit sha, URL-encoded.
- ``GET /api/models/{org}/{name}/tree/{rev}[/{path}]?recursive=true`` - ``{type, path,
  oid, size}`` entries (+ ``lfs: {oid, size, pointerSize}`` for files over ``LFS_THRESHOLD``),
  paginated with a ``Link: <...cursor=N>; rel="next"`` header every ``tree_page_size`` entries.
- ``GET /api/models/{org}/{name}/refs`` - branches and tags.
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}`` - ``X-Repo-Commit``, ``ETag`` (git blob
  oid, or sha256 for LFS files), ``X-Linked-Etag``/``X-Linked-Size`` (LFS files),
  ``Content-Length``, ``Accept-Ranges: bytes``; ``Range: bytes=a-b`` answers 206 with
  ``Content-Range``. With ``lfs_redirect = True`` LFS files answer 302 to a second listener
  on another port (a "CDN": another origin, so the client drops ``Authorization``).
- Errors: 404 + ``X-Error-Code`` RepoNotFound / RevisionNotFound / EntryNotFound; a gated
  repo answers 401 (no token) or 403 (wrong token) with ``GatedRepo``; a private repo
  (``token`` set, not gated) answers 401 ``RepoNotFound`` like the Hub. ``fail_status``
  answers every request (API, resolve, CDN) with that status.

Xet: ``add_repo(..., xet={paths})`` uploads those files through the real ``hf_xet`` client to
the Xet CAS at ``cas_url`` (tests/xet_cas.py); their resolve answers 302 with ``X-Xet-Hash``,
``X-Linked-Size``/``X-Linked-Etag`` and a ``Link`` to ``/api/models/{repo}/xet-read-token/{rev}``
(rel="xet-auth"), tree entries carry ``xetHash``, and the client downloads them from the CAS
(the 302's ``Location``, ``{cdn}/xet-bridge/{hash}``, serves the plain bytes to a client with
Xet off). A repo may mix Xet, LFS and plain files.
There is no filesystem behind the store: every lookup is a dict lookup, so ``..`` or
encoded slashes in a URL can only miss.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest
from xet_cas import CasServer

__all__ = ["LFS_THRESHOLD", "FakeHub", "hub", "payload"]

LFS_THRESHOLD = 1024 * 1024  # files strictly larger than this are LFS files
_REPO_ID_RE = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_LOGGED_HEADERS = ("Range", "Authorization", "Accept-Encoding")
_CHUNK = 1024 * 1024


def payload(name: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes: the same (name, size) always gives the same bytes."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return random.Random(seed).randbytes(size)


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of `data` (what the Hub calls `oid` / `blobId` / the `ETag`)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class _File:
    path: str
    data: bytes
    oid: str  # git oid of what git stores: the content, or the LFS pointer
    sha256: str | None  # set for LFS and Xet files
    pointer_size: int
    xet_hash: str | None = None  # set for Xet files

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def etag(self) -> str:
        return self.sha256 or self.oid

    @classmethod
    def make(cls, path: str, data: bytes, xet_hash: str | None = None) -> _File:
        if len(data) > LFS_THRESHOLD or xet_hash:
            sha = hashlib.sha256(data).hexdigest()
            pointer = (
                f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n"
            ).encode()
            return cls(path, data, git_blob_oid(pointer), sha, len(pointer), xet_hash)
        return cls(path, data, git_blob_oid(data), None, 0)


@dataclass
class _Commit:
    sha: str
    files: dict[str, _File]
    date: datetime


@dataclass
class _Repo:
    repo_id: str
    created: datetime
    commits: dict[str, _Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    gated: bool = False
    token: str | None = None

    def resolve(self, rev: str) -> _Commit | None:
        for prefix, table in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if rev.startswith(prefix) and rev[len(prefix):] in table:
                return self.commits[table[rev[len(prefix):]]]
        if rev in self.branches:
            return self.commits[self.branches[rev]]
        if rev in self.tags:
            return self.commits[self.tags[rev]]
        return self.commits.get(rev) if _SHA_RE.match(rev) else None


def _header_safe(text: str) -> str:
    """`text` as printable ASCII (URL parts end up in error messages: no CR/LF, no UTF-8)."""
    return text.encode("unicode_escape").decode("ascii")


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub: FakeHub, cdn: bool) -> None:
        self.hub, self.cdn = hub, cdn
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conns_lock:
            self.conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conns_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        with self.conns_lock:
            conns, self.conns = list(self.conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def version_string(self) -> str:
        return "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing ---------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        self._dispatch(head=False)

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _dispatch(self, head: bool) -> None:
        hub = self.server.hub
        split = urlsplit(self.path)
        hub._log(self.command, split.path, {
            k: v for k in _LOGGED_HEADERS if (v := self.headers.get(k)) is not None})
        try:
            if (status := hub.fail_status) is not None:
                raise _HubError(status, None, f"Simulated server failure ({status})")
            if self.command not in ("GET", "HEAD"):
                raise _HubError(405, None, "Method not allowed on this test server")
            segs = [unquote(s) for s in split.path.split("/")[1:]]
            query = parse_qs(split.query)
            if self.server.cdn:
                self._cdn(segs, head)
            elif len(segs) >= 3 and segs[:2] == ["api", "models"]:
                self._api(segs[2:], query)
            elif len(segs) >= 4 and segs[2] == "resolve":
                self._resolve(segs[:2], segs[3:], head)
            elif len(segs) >= 3 and segs[1] == "resolve":
                self._resolve(segs[:1], segs[2:], head)
            else:
                raise _HubError(404, None, "Not found")
        except _HubError as e:
            body = json.dumps({"error": e.message}).encode()
            self.send_response(e.status)
            if e.code:
                self.send_header("X-Error-Code", e.code)
            self.send_header("X-Error-Message", _header_safe(e.message))
            for k, v in e.headers.items():
                self.send_header(k, v)
            self._finish(body, "application/json", head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _finish(self, body: bytes, ctype: str, head: bool) -> None:
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self._finish(json.dumps(obj).encode(), "application/json", self.command == "HEAD")

    def _repo(self, *parts: str) -> _Repo:
        """The repo of these path parts (an encoded '/' inside one never joins two), after the
        access check (gated / private)."""
        hub = self.server.hub
        repo_id = "/".join(parts)
        whole = all(p and "/" not in p for p in parts)
        repo = hub._repos.get(repo_id) if whole and _REPO_ID_RE.match(repo_id) else None
        if repo is None:
            raise _HubError(404, "RepoNotFound", f"Repository not found: {repo_id!r}")
        if repo.gated or repo.token is not None:
            auth = self.headers.get("Authorization") or ""
            given = auth[7:].strip() if auth.startswith("Bearer ") else None
            ok = bool(given) and (repo.token is None or given == repo.token)
            if not ok and repo.gated:
                status = 401 if not given else 403
                raise _HubError(status, "GatedRepo",
                                f"Access to model {repo_id} is restricted. You must be authenticated "
                                "and have been granted access to it.")
            if not ok:
                raise _HubError(401, "RepoNotFound", f"Repository not found: {repo_id!r}")
        return repo

    @staticmethod
    def _commit(repo: _Repo, rev: str) -> _Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return commit

    # --- /api/models/... --------------------------------------------------------------
    def _api(self, segs: list[str], query: dict[str, list[str]]) -> None:
        hub = self.server.hub
        # `org/name/...`, or a single-segment id `name/...` (the Hub's legacy canonical models)
        if len(segs) >= 2 and f"{segs[0]}/{segs[1]}" in hub._repos or segs[0] not in hub._repos and len(segs) >= 2:
            repo, rest = self._repo(segs[0], segs[1]), segs[2:]
        else:
            repo, rest = self._repo(segs[0]), segs[1:]
        if len(rest) == 2 and rest[0] in ("xet-read-token", "xet-write-token"):
            self._xet_token(repo, rest[0] == "xet-write-token", rest[1])
        elif not rest or (rest[0] == "revision" and len(rest) == 2):
            self._info(repo, self._commit(repo, rest[1] if rest else "main"))
        elif rest[0] == "tree" and len(rest) >= 2:
            self._tree(repo, self._commit(repo, rest[1]), "/".join(rest[2:]), query)
        elif rest == ["refs"]:
            def refs(kind: str, table: dict[str, str]) -> list[dict[str, str]]:
                return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s}
                        for n, s in sorted(table.items())]
            self._json({"branches": refs("heads", repo.branches), "tags": refs("tags", repo.tags),
                        "converts": [], "pullRequests": []})
        else:
            raise _HubError(404, None, "Not found")

    def _xet_token(self, repo: _Repo, write: bool, rev: str) -> None:
        """auth.md: a CAS token, as JSON {accessToken, exp, casUrl} (hf_xet's refresher) and as
        the X-Xet-* headers (what huggingface_hub reads)."""
        cas = self.server.hub.cas
        if not write:
            self._commit(repo, rev)
        token, exp = cas.issue_token("write" if write else "read")
        self._json({"accessToken": token, "exp": exp, "casUrl": cas.url},
                   {"X-Xet-Cas-Url": cas.url, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(exp)})

    def _info(self, repo: _Repo, commit: _Commit) -> None:
        siblings = []
        for f in sorted(commit.files.values(), key=lambda f: f.path):
            s: dict[str, Any] = {"rfilename": f.path, "size": f.size, "blobId": f.oid}
            if f.sha256:
                s["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": f.pointer_size}
            siblings.append(s)
        org = repo.repo_id.split("/")[0] if "/" in repo.repo_id else None
        self._json({
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id, "modelId": repo.repo_id, "author": org,
            "sha": commit.sha, "lastModified": _iso(commit.date), "createdAt": _iso(repo.created),
            "private": repo.token is not None and not repo.gated,
            "gated": "manual" if repo.gated else False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": [], "library_name": None,
            "siblings": siblings,
            "usedStorage": sum(f.size for f in commit.files.values()),
        })

    def _tree(self, repo: _Repo, commit: _Commit, base: str, query: dict[str, list[str]]) -> None:
        recursive = (query.get("recursive") or ["false"])[0].lower() in ("true", "1")
        prefix = base.strip("/") + "/" if base.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for f in commit.files.values():
            if not f.path.startswith(prefix):
                continue
            parts = f.path[len(prefix):].split("/")
            for i in range(1, len(parts)):  # parent folders under `base`
                if not recursive and i > 1:
                    break
                d = prefix + "/".join(parts[:i])
                entries.setdefault(d, {"type": "directory", "path": d, "size": 0,
                                       "oid": hashlib.sha1(f"tree:{commit.sha}:{d}".encode()).hexdigest()})
            if recursive or len(parts) == 1:
                e: dict[str, Any] = {"type": "file", "path": f.path, "oid": f.oid, "size": f.size}
                if f.sha256:
                    e["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": f.pointer_size}
                if f.xet_hash:
                    e["xetHash"] = f.xet_hash
                entries[f.path] = e
        if prefix and not entries:
            raise _HubError(404, "EntryNotFound", f"{base} does not exist on {commit.sha}")
        listing = [entries[k] for k in sorted(entries)]
        try:
            start = int((query.get("cursor") or ["0"])[0])
        except ValueError:
            raise _HubError(400, None, "Invalid cursor") from None
        size = max(1, self.server.hub.tree_page_size)
        page, headers = listing[start:start + size], {}
        if start + size < len(listing):
            q = {k: v[0] for k, v in query.items() if k != "cursor"}
            q["cursor"] = str(start + size)
            host = self.server.hub.url
            headers["Link"] = f'<{host}{urlsplit(self.path).path}?{urlencode(q)}>; rel="next"'
        self._json(page, headers)

    # --- /{org}/{name}/resolve/{rev}/{path} (or /{name}/resolve/...) --------------------
    def _resolve(self, repo_segs: list[str], rest: list[str], head: bool) -> None:
        hub = self.server.hub
        if len(rest) < 2:
            raise _HubError(404, "EntryNotFound", "No file path given")
        repo = self._repo(*repo_segs)
        commit = self._commit(repo, rest[0])
        path = "/".join(rest[1:])
        f = commit.files.get(path)
        headers = {"X-Repo-Commit": commit.sha, "Accept-Ranges": "bytes"}
        if f is None:
            raise _HubError(404, "EntryNotFound", f"{path} does not exist on {commit.sha}", headers)
        headers["ETag"] = f'"{f.etag}"'
        if f.sha256:
            headers["X-Linked-Etag"] = f'"{f.sha256}"'
            headers["X-Linked-Size"] = str(f.size)
            if f.xet_hash:  # file_id.md: the hash and where to get a token, on the resolve answer
                headers["X-Xet-Hash"] = f.xet_hash
                headers["Link"] = (f'<{hub.url}/api/models/{repo.repo_id}/xet-read-token/{commit.sha}>; '
                                   f'rel="xet-auth", <{hub.cas.url}/v1/reconstructions/{f.xet_hash}>; '
                                   'rel="xet-reconstruction-info"')
                headers["Location"] = f"{hub.cdn_url}/xet-bridge/{f.xet_hash}"
                self.send_response(302)
                for k, v in headers.items():
                    self.send_header(k, v)
                self._finish(b"", "text/plain", head)
                return
            if hub.lfs_redirect and hub._cdn is not None:
                self.send_response(302)
                headers["Location"] = (f"{hub.cdn_url}/lfs/{quote(repo.repo_id, safe='')}/{f.sha256}"
                                       f"?sig={hashlib.sha1(f.sha256.encode()).hexdigest()[:16]}")
                for k, v in headers.items():
                    self.send_header(k, v)
                self._finish(b"", "text/plain", head)
                return
        self._body(f, headers, head)

    def _cdn(self, segs: list[str], head: bool) -> None:
        hub = self.server.hub
        if len(segs) == 2 and segs[0] == "xet-bridge":  # Xet files as plain bytes, for a client with Xet off
            found = next((f for r in hub._repos.values() for c in r.commits.values() for f in c.files.values()
                          if f.xet_hash == segs[1]), None)
            if found is None:
                raise _HubError(404, None, "No such object")
            self._body(found, {"ETag": f'"{found.sha256}"', "Accept-Ranges": "bytes"}, head)
            return
        if len(segs) != 3 or segs[0] != "lfs":
            raise _HubError(404, None, "Not found")
        repo = hub._repos.get(segs[1])
        f = None
        if repo is not None:
            f = next((f for c in repo.commits.values() for f in c.files.values()
                      if f.sha256 == segs[2]), None)
        if f is None:
            raise _HubError(404, None, "No such object")
        self._body(f, {"ETag": f'"{f.sha256}"', "Accept-Ranges": "bytes"}, head)

    def _body(self, f: _File, headers: dict[str, str], head: bool) -> None:
        start, end, status = 0, f.size - 1, 200
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            if m and (m.group(1) or m.group(2)):
                a, b = m.group(1), m.group(2)
                if a:
                    start, end = int(a), min(int(b), f.size - 1) if b else f.size - 1
                else:
                    start, end = max(0, f.size - int(b)), f.size - 1
                if start >= f.size or start > end:
                    raise _HubError(416, None, "Range not satisfiable",
                                    {**headers, "Content-Range": f"bytes */{f.size}"})
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{f.size}"
        length = end - start + 1 if f.size else 0
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if head or not length:
            return
        view = memoryview(f.data)[start:end + 1]
        hub = self.server.hub
        with hub._lock:  # one-shot network failure: cut this body after `drop_after` bytes
            drop = hub.drop_after
            if drop is not None and drop < length:
                hub.drop_after = None
                view, length = view[:drop], drop
            else:
                drop = None
        sent = 0
        paced: tuple[float, int, float] | None = None  # (since, sent then, rate) while throttled
        while sent < length:
            if hub._stopping.is_set():
                self.close_connection = True
                return
            rate = hub.throttle
            if rate:
                if paced is None or paced[2] != rate:
                    paced = (time.monotonic(), sent, rate)
                chunk = max(1024, min(_CHUNK, int(rate / 20)))
                delay = paced[0] + (sent - paced[1]) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            else:
                paced, chunk = None, _CHUNK
            n = min(chunk, length - sent)
            self.wfile.write(view[sent:sent + n])
            sent += n
        if drop is not None and sent == length:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


class FakeHub:
    """An in-memory Hugging Face Hub on 127.0.0.1 (see the module docstring).

    Attributes you may set while it runs: `throttle` (bytes/second for file bodies, None =
    full speed), `fail_status` (every request answers this status), `drop_after` (one-shot:
    the next file body is cut after that many bytes and the connection closed, then it
    resets to None - the client resumes with a Range request), `lfs_redirect` (LFS files
    answer 302 to the CDN listener at `cdn_url`), `tree_page_size` (tree entries per page).
    `requests` logs (method, path without query, {Range, Authorization, Accept-Encoding
    when sent}) of every request, in arrival order.
    """

    def __init__(self) -> None:
        self.url = ""
        self.cdn_url = ""
        self.throttle: float | None = None
        self.fail_status: int | None = None
        self.lfs_redirect = False
        self.tree_page_size = 1000
        self.drop_after: int | None = None
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._repos: dict[str, _Repo] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._cdn: _Server | None = None
        self._threads: list[threading.Thread] = []
        self.cas = CasServer()
        self.cas.throttle_of = lambda: self.throttle

    # --- life cycle ---------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server, self._cdn = _Server(self, cdn=False), _Server(self, cdn=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self._cdn.server_address[1]}"
        if self.cas.stopping.is_set():  # started again after a stop
            self.cas = CasServer()
            self.cas.throttle_of = lambda: self.throttle
        cas = threading.Thread(target=self.cas.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeHub-cas",
                               daemon=True)
        cas.start()
        self._threads.append(cas)
        for srv in (self._server, self._cdn):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                 name=f"FakeHub{'-cdn' if srv.cdn else ''}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    @property
    def cas_url(self) -> str:
        """Where the Xet CAS answers."""
        return self.cas.url

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:  # the CAS runs while the hub does
            self.cas.stop()
        for srv in (self._server, self._cdn):
            if srv is not None:
                srv.shutdown()
                srv.close_all()
                srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._server = self._cdn = None
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- content ------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict[str, bytes], *, branch: str = "main",
                 tags: Sequence[str] = (), gated: bool = False, token: str | None = None,
                 xet: Collection[str] = ()) -> str:
        """Commit `files` (the complete tree of the new commit) to `branch` of `repo_id`,
        creating the repo on first use; point each of `tags` at it; set the repo's access
        (`gated`: a Bearer token is needed - `token` if given, else any; `token` without
        `gated`: a private repo). Returns the new 40-hex commit sha; older commits stay
        resolvable by sha. Paths in `xet` become Xet files, uploaded through the real hf_xet
        client to the CAS (the hub must be started)."""
        if not _REPO_ID_RE.match(repo_id) or ".." in repo_id:
            raise ValueError(f"repo_id must be 'org/name' or 'name', got {repo_id!r}")
        if not branch or not all(isinstance(k, str) and k for k in files):
            raise ValueError("branch and file names must be non-empty strings")
        if set(xet) - set(files):
            raise ValueError(f"xet names files not in the commit: {sorted(set(xet) - set(files))}")
        with self._lock:  # the write-token route needs the repo to exist
            self._repos.setdefault(repo_id, _Repo(repo_id, created=datetime.now(timezone.utc)))
        hashes = self._upload_xet(repo_id, {p: bytes(files[p]) for p in xet}) if xet else {}
        built = {p: _File.make(p, bytes(d), hashes.get(p)) for p, d in files.items()}
        now = datetime.now(timezone.utc)
        with self._lock:
            self._counter += 1
            h = hashlib.sha1(f"{repo_id}\0{branch}\0{self._counter}\0".encode())
            for p in sorted(built):
                h.update(f"{p}\0{built[p].oid}\0".encode())
            sha = h.hexdigest()
            repo = self._repos.get(repo_id) or _Repo(repo_id, created=now)
            repo.commits[sha] = _Commit(sha, built, now)
            repo.branches[branch] = sha
            for t in tags:
                repo.tags[t] = sha
            repo.gated, repo.token = gated, token
            self._repos[repo_id] = repo
        return sha

    def _upload_xet(self, repo_id: str, files: dict[str, bytes]) -> dict[str, str]:
        """Upload `files` through the real hf_xet client (its token from our xet-write-token
        route, the CAS from its casUrl): path -> Xet file hash."""
        import hf_xet

        session = hf_xet.XetSession()
        handles = {}
        with session.new_upload_commit(
            token_refresh_url=f"{self.url}/api/models/{repo_id}/xet-write-token/main", token_refresh_headers={},
        ) as commit:
            for path, data in files.items():
                handles[path] = commit.start_upload_bytes(data, name=path)
        hashes = {}
        for path, handle in handles.items():
            info = handle.result().xet_info
            assert info.sha256 == hashlib.sha256(files[path]).hexdigest(), path
            hashes[path] = info.hash
        return hashes

    def xorb_gets(self) -> list[tuple[str, dict[str, str], int]]:
        """(path, headers, status) of the CAS's xorb range requests (Xet file bodies), in order."""
        with self.cas.lock:
            return [(p, h, s) for m, p, h, s in self.cas.requests if m == "GET" and p.startswith("/xorbs/")]

    # --- helpers for tests ----------------------------------------------------------------
    def _log(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, headers))

    def file_gets(self, repo_id: str | None = None) -> list[str]:
        """Paths of GET requests that fetched file bodies (resolve or CDN), in order."""
        with self._lock:
            reqs = list(self.requests)
        wanted = ((f"/{repo_id}/resolve/", f"/lfs/{quote(repo_id, safe='')}/")
                  if repo_id is not None else ("/lfs/",))
        return [path for method, path, _ in reqs if method == "GET"
                and (path.startswith(wanted) or (repo_id is None and "/resolve/" in path))]


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A started FakeHub on 127.0.0.1, stopped after the test."""
    with FakeHub() as h:
        yield h
