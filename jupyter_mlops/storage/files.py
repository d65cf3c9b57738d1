"""A model's files where its storage_path says: objects under an s3:// prefix, or the files
of a folder on this machine (a path inside the allowed roots, or an hf:// snapshot in the
model cache). Each is an `Entry` with a fingerprint that changes when its content may have,
and its sha256 is computed by streaming it (an S3 ETag is not a sha256)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..paths import Roots
from ..registry.scanning import ScannedFile
from . import s3 as s3mod
from .s3 import S3Options

CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One file: its path relative to the model's folder (with /), size, fingerprint (an
    S3 ETag with the size, or a file's size and mtime) and where it is (a URI or a path)."""

    rel: str
    size: int
    fingerprint: str
    location: str


def kind_of(rel: str) -> str:
    """The artifact kind of a model file by its name."""
    name = rel.rsplit("/", 1)[-1].lower()
    if name.endswith((".safetensors", ".bin", ".gguf", ".pt", ".pth", ".onnx", ".ckpt", ".h5", ".msgpack", ".npz")):
        return "weights"
    if name.startswith("tokenizer") or name in ("vocab.json", "vocab.txt", "merges.txt", "special_tokens_map.json"):
        return "tokenizer"
    if name.endswith((".model", ".tiktoken")):
        return "tokenizer"
    if name.endswith((".json", ".yaml", ".yml", ".toml", ".cfg", ".ini")):
        return "config"
    return "file"


def etag_fingerprint(etag: str, size: int) -> str:
    """An S3 object's fingerprint: its ETag (quotes dropped) and size; a scan and a publish
    must write the same, or the next scan hashes the object again."""
    bare = etag.strip('"')
    return f"etag:{bare}:{size}"


def s3_entries(s3: Any, uri: str, options: S3Options) -> list[Entry]:
    """The objects under an s3:// prefix, as entries relative to it."""
    bucket, prefix = s3mod.parse_uri(uri)
    folder = s3mod.folder_of(prefix)
    return [
        Entry(o.key[len(folder) :], o.size, etag_fingerprint(o.etag, o.size), f"s3://{bucket}/{o.key}")
        for o in s3mod.list_objects(s3, bucket, prefix, options)
    ]


def local_entries(folder: Path, roots: Roots, field: str = "source") -> list[Entry]:
    """The regular files below `folder` (a file alone is one entry), in path order. A link is
    followed when it points inside the roots (a Hub snapshot's links into its blobs); one that
    points outside is Forbidden, naming `field`."""
    if folder.is_file():
        st = folder.stat()
        return [Entry(folder.name, st.st_size, f"file:{st.st_size}:{st.st_mtime_ns}", str(folder))]
    found: list[Entry] = []
    for path in _walk(folder):
        real = roots.resolve(path, field, base=folder) if path.is_symlink() else path
        if not real.is_file():
            continue
        st = real.stat()
        rel = path.relative_to(folder).as_posix()
        found.append(Entry(rel, st.st_size, f"file:{st.st_size}:{st.st_mtime_ns}", str(path)))
    return sorted(found, key=lambda e: e.rel)


def _walk(folder: Path) -> Iterator[Path]:
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as it:
            for item in it:
                if item.is_dir(follow_symlinks=False):
                    stack.append(Path(item.path))
                else:
                    yield Path(item.path)


def sha256_file(path: str | Path, progress: Callable[[int], None] | None = None) -> str:
    """The sha256 of a local file, read in 1 MiB pieces (`progress` gets each piece's size)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb") as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
            if progress is not None:
                progress(n)
    return digest.hexdigest()


def sha256_object(s3: Any, uri: str, options: S3Options, progress: Callable[[int], None] | None = None) -> str:
    """The sha256 of an S3 object, streamed (never held whole in memory)."""
    bucket, key = s3mod.parse_uri(uri)
    digest = hashlib.sha256()
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        for piece in body.iter_chunks(CHUNK):
            digest.update(piece)
            if progress is not None:
                progress(len(piece))
    except Exception as exc:
        raise s3mod.explain(exc, uri, options) from None
    return digest.hexdigest()


def artifact_name(rel: str) -> str:
    """An artifact name for a file (names hold 200 characters: a longer path keeps its end)."""
    return rel if len(rel) <= 200 else "…" + rel[-199:]


def scanned(rel: str, location: str, size: int, sha256: str, fingerprint: str) -> ScannedFile:
    """A file at `rel` below the model's folder as the registry records it (name, kind by name)."""
    return ScannedFile(artifact_name(rel), location, kind_of(rel), size, sha256, fingerprint)


def require_files(entries: Iterable[Entry], where: str, field: str) -> list[Entry]:
    """The entries, or InvalidInput naming `field` when there are none."""
    found = list(entries)
    if not found:
        raise InvalidInput(f"{field}: no files at {where}", field=field)
    return found
