"""The `hub.download` job: dry run, disk check, then `snapshot_download` with live
progress, prompt cancel and clear errors. huggingface_hub is imported in here only."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import DEFAULT_DISK_MARGIN
from ..diskspace import NotEnoughSpace, require_space
from ..diskspace import mb as _mb
from ..errors import Forbidden, MLOpsError, NotFound, Unavailable
from ..jobs.context import stop_on_term
from ..secretfile import take
from . import rules

MAX_WORKERS = 8
#: huggingface_hub reads HTTP bodies in 10 MiB pieces and its progress hook fires once per
#: piece: progress would move (and cancel act) only every 10 MiB. The job process reads 1 MiB.
CHUNK_SIZE = 1 << 20
#: Seconds a cancelled download waits for its transfer threads to stop.
STOP_WAIT = 3.0


class HubUnauthorized(Forbidden):
    """The Hub refused access: gated or private repo, missing or wrong token."""


def incomplete_files(cache_dir: str | Path, repo_id: str) -> list[Path]:
    """Partial blobs (`*.incomplete`) of this repo in the cache."""
    blobs = Path(cache_dir) / rules.repo_folder(repo_id) / "blobs"
    try:
        return sorted(blobs.glob("*.incomplete"))
    except OSError:
        return []


def _lock_path(cache_dir: str | Path, repo_id: str, partial: Path) -> Path:
    etag = partial.name.split(".", 1)[0]
    return Path(cache_dir) / ".locks" / rules.repo_folder(repo_id) / f"{etag}.lock"


def clean_incomplete(cache_dir: str | Path, repo_id: str) -> int:
    """Remove partial blobs of this repo that no live download holds (its per-blob
    lock is free). Returns bytes removed."""
    freed = 0
    for partial in incomplete_files(cache_dir, repo_id):
        lock = _lock_path(cache_dir, repo_id, partial)
        fd = None
        try:
            if lock.exists():
                fd = os.open(lock, os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # someone is downloading this blob right now
            size = partial.stat().st_size
            partial.unlink()
            freed += size
        except FileNotFoundError:
            continue
        finally:
            if fd is not None:
                os.close(fd)
    return freed


class _Progress:
    """Shared state of one download, fed by the progress bars huggingface_hub makes."""

    def __init__(self, ctx: Any, total_bytes: int, files_total: int, files_cached: int) -> None:
        self.ctx = ctx
        self.total_bytes = total_bytes
        self.files_total = files_total
        self.files_cached = files_cached
        self.written = 0  # bytes written into the cache ("Reconstructing ...")
        self.received = 0  # bytes received ("Downloading bytes"; the only bar a Xet transfer moves)
        self.files_done = 0
        self.cancelled = threading.Event()
        self.lock = threading.Lock()
        self.report()

    @property
    def bytes_done(self) -> int:
        """Bytes of the download done: written, or received while a Xet transfer writes
        its file only at the end; never past the total."""
        done = max(self.written, self.received)
        return min(done, self.total_bytes) if self.total_bytes else done

    def report(self) -> None:
        msg = (
            f"file {self.files_done} of {self.files_total} done"
            f"{f' ({self.files_cached} cached)' if self.files_cached else ''}; "
            f"{_mb(self.bytes_done)} of {_mb(self.total_bytes)}"
        )
        if self.ctx is not None:
            self.ctx.progress(self.bytes_done, self.total_bytes, "B", msg)


def _bar_class(state: _Progress) -> type:
    """A tqdm stand-in (huggingface_hub's only progress hook) that feeds `state`.

    huggingface_hub makes three bars told apart by `desc`: "Fetching N files" (files
    done), "Reconstructing ..." (bytes written) and "Downloading bytes" (bytes received; over
    Xet, hf_xet's own threads move it, and "Reconstructing" moves only when a file is whole).
    Raising from `update()` stops the HTTP transfer of that file; a Xet transfer is stopped
    by `abort_xet` instead (raising in hf_xet's threads would only print a traceback)."""

    class Bar:
        _lock = threading.RLock()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            desc = str(kwargs.get("desc") or (args[1] if len(args) > 1 else ""))
            self.kind = (
                "files"
                if "Fetching" in desc
                else "written"
                if desc.startswith("Reconstruct")
                else "received"
                if "ownloading" in desc
                else "other"
            )
            self.total = kwargs.get("total") or 0
            self.n = kwargs.get("initial") or 0
            self.desc = desc
            self.format_dict: dict[str, Any] = {"rate": None}
            self.disable = False

        @classmethod
        def get_lock(cls) -> Any:
            return cls._lock

        @classmethod
        def set_lock(cls, lock: Any) -> None:
            cls._lock = lock

        def update(self, n: float | None = 1) -> None:
            if state.cancelled.is_set():
                if isinstance(threading.current_thread(), threading._DummyThread):
                    return  # one of hf_xet's threads: abort_xet stops it
                from ..jobs.context import JobCancelled

                raise JobCancelled()
            n = n or 0
            self.n += n
            if self.kind == "other":
                return
            with state.lock:
                if self.kind == "files":
                    state.files_done += int(n)
                elif self.kind == "written":
                    state.written += int(n)
                else:
                    state.received += int(n)
                state.report()

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            pass

        def close(self) -> None:
            pass

        def clear(self, *args: Any, **kwargs: Any) -> None:
            pass

        def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
            self.desc = desc or ""

        set_description_str = set_description

        def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
            pass

        def set_postfix(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def __iter__(self) -> Iterator[Any]:
            return iter(())

    return Bar


def abort_xet() -> None:
    """Stop every Xet transfer of this process at once (hf_xet's session abort, what a
    KeyboardInterrupt does); a job is its own process, so no other download is touched."""
    try:
        from huggingface_hub.utils import _xet
    except ImportError:
        return
    abort = getattr(_xet, "abort_xet_session", None)
    if abort is not None:
        abort()


def _join_transfers(timeout: float) -> None:
    """Wait (bounded) for huggingface_hub's download threads to end, so each removes its
    own partial file before we look for leftovers."""
    deadline = time.monotonic() + timeout
    for t in threading.enumerate():
        if t is not threading.current_thread() and t.name.startswith("ThreadPoolExecutor"):
            while True:
                try:
                    t.join(max(0.0, deadline - time.monotonic()))
                    break
                except RuntimeError:  # being started by another thread: it runs in a moment
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.01)


def explain(exc: BaseException, repo_id: str, revision: str, endpoint: str) -> MLOpsError | None:
    """A clear domain error for a huggingface_hub / network / disk failure (None if unknown)."""
    import httpx2
    from huggingface_hub import errors as hfe

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, hfe.GatedRepoError):
            return HubUnauthorized(
                f"repo {repo_id} is gated: accept its terms on the Hub and give a token "
                "of an account with access (or log in with `hf auth login`)",
                field="token",
            )
        if isinstance(cur, hfe.RepositoryNotFoundError):
            return NotFound(f"repo {repo_id} not found at {endpoint} (or private: give a token)")
        if isinstance(cur, hfe.RevisionNotFoundError):
            return NotFound(
                f"revision {revision!r} not found in repo {repo_id}",
            )
        if isinstance(cur, hfe.HfHubHTTPError) and cur.response is not None:
            code = cur.response.status_code
            if code in (401, 403):
                return HubUnauthorized(
                    f"the Hub refused access to {repo_id} (HTTP {code}): the repo is private "
                    "or gated, or the token is wrong",
                    field="token",
                )
            if code >= 500:
                return Unavailable(
                    f"the Hub at {endpoint} failed (HTTP {code}) while serving {repo_id}; try again later"
                )
        if isinstance(
            cur,
            (
                httpx2.ConnectError,
                httpx2.TimeoutException,
                httpx2.NetworkError,
                httpx2.RemoteProtocolError,
                hfe.OfflineModeIsEnabled,
            ),
        ):
            return Unavailable(f"network failure talking to {endpoint}: {type(cur).__name__}: {cur}")
        if isinstance(cur, OSError) and cur.errno == errno.ENOSPC:
            return NotEnoughSpace(
                "disk full while downloading into the model cache: free some space (delete models) and try again"
            )
        if isinstance(cur, PermissionError):
            return Forbidden(f"permission denied writing {cur.filename or 'the model cache'}")
        cur = cur.__cause__ or cur.__context__
    return None


def plan(
    repo_id: str,
    revision: str,
    endpoint: str,
    token: str | None,
    cache_dir: str,
    allow_patterns: list[str] | None,
    ignore_patterns: list[str] | None,
) -> tuple[str, list[tuple[str, int, bool, bool]]]:
    """What a download of `repo_id@revision` would fetch, from one request to the Hub (the
    repo's files with sizes and content ids) and the cache on disk: its commit, and each
    file's (path, size, in the revision's snapshot, still to download), by path. The same
    answer as `snapshot_download(dry_run=True)`, which asks once more per file."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils._paths import filter_repo_objects

    info = HfApi(endpoint=endpoint, token=token).model_info(repo_id, revision=revision, files_metadata=True)
    commit = str(info.sha)
    repo = Path(cache_dir) / rules.repo_folder(repo_id)
    files = []
    siblings = filter_repo_objects(
        info.siblings or [], allow_patterns=allow_patterns, ignore_patterns=ignore_patterns, key=lambda s: s.rfilename
    )
    for s in siblings:
        etag = s.lfs.sha256 if s.lfs else s.blob_id  # what the cache names the blob by
        size = s.size if s.size is not None else (s.lfs.size if s.lfs else 0)
        in_snapshot = (repo / "snapshots" / commit / s.rfilename).exists()
        have = in_snapshot or bool(etag and (repo / "blobs" / etag).exists())
        files.append((s.rfilename, int(size or 0), in_snapshot, not have))
    return commit, sorted(files)


def download(
    ctx: Any,
    repo_id: str,
    revision: str = "main",
    allow_patterns: list[str] | None = None,
    ignore_patterns: list[str] | None = None,
    *,
    endpoint: str,
    cache_dir: str,
    token_file: str | None = None,
    disk_margin: int = DEFAULT_DISK_MARGIN,
    max_workers: int = MAX_WORKERS,
    actor: str = "",
) -> dict[str, Any]:
    """Download `repo_id@revision` into the cache at `cache_dir`; returns the commit,
    files, bytes and the local snapshot path."""
    token = take(token_file, "token")  # first thing: the file must not outlive the start
    repo_id = rules.repo_id(repo_id)
    revision = rules.revision(revision or "main")
    from huggingface_hub import constants as hf_constants
    from huggingface_hub import snapshot_download

    if hf_constants.DOWNLOAD_CHUNK_SIZE > CHUNK_SIZE:
        hf_constants.DOWNLOAD_CHUNK_SIZE = CHUNK_SIZE

    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    # A kill -9 of an earlier run leaves `<etag>.<uuid>.incomplete`; huggingface_hub never
    # resumes those (each run writes a fresh uniquely named file), so they are only waste.
    stale = clean_incomplete(cache_dir, repo_id)
    if stale and ctx is not None:
        ctx.log(f"removed {_mb(stale)} of partial files left by an earlier interrupted download")
    common: dict[str, Any] = {
        "repo_id": repo_id,
        "revision": revision,
        "cache_dir": cache_dir,
        "endpoint": endpoint,
        "token": token,
        "allow_patterns": allow_patterns,
        "ignore_patterns": ignore_patterns,
        "max_workers": max_workers,
    }
    state = _Progress(None, 0, 0, 0)
    cancel_event = state.cancelled
    with stop_on_term(cancel_event, on_stop=abort_xet):
        try:
            if ctx is not None:
                ctx.progress(0, None, "B", f"checking {repo_id}@{revision} at {endpoint}")
            try:
                commit, files = plan(repo_id, revision, endpoint, token, cache_dir, allow_patterns, ignore_patterns)
            except Exception as exc:
                explained = explain(exc, repo_id, revision, endpoint)
                if explained is None:
                    raise
                raise explained from None
            total = sum(size for _, size, _, _ in files)
            cached = sum(size for _, size, is_cached, _ in files if is_cached)
            to_get = sum(size for _, size, _, will in files if will)
            n_cached = sum(1 for f in files if not f[3])
            if ctx is not None:
                ctx.log(
                    f"{repo_id}@{revision} (commit {commit}): {len(files)} files, {_mb(total)}; "
                    f"{_mb(cached)} already cached, {_mb(to_get)} to download"
                )
            require_space(cache_dir, to_get, disk_margin, f"{repo_id}@{revision}")
            state = _Progress(ctx, to_get, len(files), n_cached)
            state.cancelled = cancel_event
            started = time.monotonic()
            try:
                path = snapshot_download(**common, tqdm_class=_bar_class(state))
            except Exception as exc:
                explained = explain(exc, repo_id, revision, endpoint)
                if explained is None:
                    raise
                raise explained from None
            state.files_done = len(files)
            state.written = to_get
            state.report()
            seconds = time.monotonic() - started
            commit = Path(path).name  # the snapshot downloaded (a branch may have moved since the plan)
            result = {
                "repo_id": repo_id,
                "revision": revision,
                "commit": commit,
                "files": [name for name, _, _, _ in files],
                "files_total": len(files),
                "files_downloaded": len(files) - n_cached,
                "files_cached": n_cached,
                "bytes_total": total,
                "bytes_downloaded": to_get,
                "bytes_cached": cached,
                "seconds": round(seconds, 3),
                "local_path": path,
                "storage_path": f"hf://{repo_id}@{commit}",
            }
            if ctx is not None:
                ctx.log(f"done: {len(files)} files in {path} ({_mb(to_get)} downloaded in {seconds:.1f} s)")
            return result
        except BaseException:
            if not cancel_event.is_set():
                cancel_event.set()  # any HTTP transfer thread still running stops at its next chunk
                abort_xet()
            _join_transfers(STOP_WAIT)
            raise
        finally:
            # huggingface_hub unlinks its own temp file when a transfer raises; this catches
            # what a thread still writing could leave.
            clean_incomplete(cache_dir, repo_id)
