"""The build context on real files: what goes in the tar, its exact size, .dockerignore,
the model cache's symlinks, the generated Dockerfile, the content hash and the rules."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest

from jupyter_mlops.builds import context as bc
from jupyter_mlops.builds import rules
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.paths import Roots

ROOTS = Roots([Path(tempfile.gettempdir()).resolve()])  # the tests' own folders
ROOTS = Roots([Path(tempfile.gettempdir()).resolve()])  # the tests' own folders
ENV = {"MODEL_DIR": "/opt/model", "MLOPS_MODEL": "m"}


def members(context: bc.Context) -> dict[str, bytes | None]:
    """The tar the context streams, read back: name -> bytes (None for folders)."""
    data = b"".join(context.stream())
    assert len(data) == context.tar_size()  # the size announced before sending is exact
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


def sha(e: bc.Entry) -> str:
    return bc.known_digest(e) or "sha256:" + bc.sha256_file(e.source or "")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(os.urandom(3000))
    (tmp_path / "model" / "config.json").write_text("{}")
    return tmp_path


def test_stream_is_a_tar_of_the_files_with_the_exact_size(project: Path) -> None:
    long = project / "model" / ("deep/" * 30) / ("n" * 120 + ".bin")
    long.parent.mkdir(parents=True)
    long.write_bytes(b"x" * 513)
    ctx, text = bc.generated_context(project / "model", project, [], "base:1", ENV, ROOTS)
    got = members(ctx)
    assert got["Dockerfile"] == text.encode()
    assert got["model/weights.bin"] == (project / "model" / "weights.bin").read_bytes()
    assert got[f"model/{'deep/' * 30}{'n' * 120}.bin"] == b"x" * 513
    assert ctx.needed_bytes == 3000 + 2 + 513 + len(text.encode())


def test_model_cache_symlinks_are_sent_as_real_files_and_hashed_by_name(tmp_path: Path) -> None:
    repo = tmp_path / "models--org--m"
    blob = os.urandom(2048)
    digest = hashlib.sha256(blob).hexdigest()
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / digest).write_bytes(blob)
    (repo / "blobs" / ("a" * 40)).write_text("{}")
    snap = repo / "snapshots" / ("c" * 40)
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(f"../../blobs/{digest}")
    (snap / "config.json").symlink_to(f"../../blobs/{'a' * 40}")
    ctx, _ = bc.generated_context(snap, tmp_path, [], "base:1", ENV, ROOTS)
    got = members(ctx)
    assert got["model/model.safetensors"] == blob
    with tarfile.open(fileobj=io.BytesIO(b"".join(ctx.stream()))) as tar:
        assert tar.getmember("model/model.safetensors").isfile()  # not a symlink
    by_name = {e.name: bc.known_digest(e) for e in ctx.files}
    assert by_name["model/model.safetensors"] == f"sha256:{digest}"
    assert by_name["model/config.json"] == f"gitsha1:{'a' * 40}"


def test_dockerignore_with_exceptions_and_globstar(project: Path) -> None:
    model = project / "model"
    (model / "ckpt").mkdir()
    (model / "ckpt" / "step1.pt").write_text("1")
    (model / "ckpt" / "keep.pt").write_text("k")
    (model / "notes.tmp").write_text("t")
    (model / "sub" / "deep").mkdir(parents=True)
    (model / "sub" / "deep" / "x.log").write_text("l")
    (model / ".dockerignore").write_text("# comment\nckpt\n!ckpt/keep.pt\n*.tmp\n**/*.log\n")
    ctx, _ = bc.generated_context(model, project, [], "base:1", ENV, ROOTS)
    names = set(members(ctx))
    assert "model/ckpt/keep.pt" in names and "model/weights.bin" in names
    assert not names & {"model/ckpt/step1.pt", "model/notes.tmp", "model/sub/deep/x.log"}


def test_project_parts_only_when_present_and_weights_last(project: Path) -> None:
    ctx, text = bc.generated_context(project / "model", project, [], "base:1", ENV, ROOTS)
    assert "pip install" not in text and "requirements" not in text and "third_party" not in text
    (project / "requirements.txt").write_text("./third_party/tiny.whl\n")
    (project / "third_party").mkdir()
    (project / "third_party" / "tiny.whl").write_bytes(b"w")
    (project / "src").mkdir()
    (project / "src" / "serve.py").write_text("print(1)")
    ctx, text = bc.generated_context(project / "model", project, ["src"], "rocm/pytorch:latest", ENV, ROOTS)
    lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert lines[0] == "ARG BASE_IMAGE=rocm/pytorch:latest" and lines[1] == "FROM ${BASE_IMAGE}"
    order = [i for i, line in enumerate(lines) if line.startswith(("COPY requirements.txt", "COPY third_party",
                                                                    "RUN", "COPY src", "COPY model/"))]
    assert len(order) == 5 and order == sorted(order)
    assert lines[-1] == "COPY model/ /opt/model/"
    assert "-c /tmp/mlops-constraints.txt -r requirements.txt" in text  # accelerator builds kept
    assert set(members(ctx)) >= {"requirements.txt", "third_party/tiny.whl", "src/serve.py"}


def test_requirements_folder_without_a_top_file(project: Path) -> None:
    (project / "requirements").mkdir()
    (project / "requirements" / "base.txt").write_text("a\n")
    (project / "requirements" / "serve.txt").write_text("-r base.txt\n")
    _, text = bc.generated_context(project / "model", project, [], "b:1", ENV, ROOTS)
    assert "-r requirements/base.txt -r requirements/serve.txt" in text


def test_a_single_weights_file_is_the_model(project: Path) -> None:
    gguf = project / "m.Q4_K_M.gguf"
    gguf.write_bytes(b"G" * 100)
    ctx, _ = bc.generated_context(gguf, project, [], "b:1", ENV, ROOTS)
    assert members(ctx)["model/m.Q4_K_M.gguf"] == b"G" * 100


def test_include_rules(project: Path) -> None:
    with pytest.raises(InvalidInput, match="include: 'model/x' clashes"):
        bc.generated_context(project / "model", project, ["model/x"], "b:1", ENV, ROOTS)
    with pytest.raises(InvalidInput, match="include: 'missing' does not exist"):
        bc.generated_context(project / "model", project, ["missing"], "b:1", ENV, ROOTS)


def test_unreadable_parts_name_the_path(project: Path) -> None:
    dangling = project / "model" / "gone.bin"
    dangling.symlink_to(project / "nowhere.bin")
    with pytest.raises(bc.ContextError, match=f"{dangling}: broken symbolic link"):
        bc.generated_context(project / "model", project, [], "b:1", ENV, ROOTS)
    dangling.unlink()
    loop = project / "model" / "loop"
    loop.symlink_to(project / "model")
    with pytest.raises(bc.ContextError, match="symbolic link loop"):
        bc.generated_context(project / "model", project, [], "b:1", ENV, ROOTS)
    loop.unlink()
    os.mkfifo(project / "model" / "pipe")
    with pytest.raises(bc.ContextError, match="pipe: is not a regular file"):
        bc.generated_context(project / "model", project, [], "b:1", ENV, ROOTS)


def test_a_file_changed_while_sent_fails_the_stream(project: Path) -> None:
    ctx, _ = bc.generated_context(project / "model", project, [], "b:1", ENV, ROOTS)
    (project / "model" / "weights.bin").write_bytes(b"short")
    with pytest.raises(bc.ContextError, match="weights.bin: changed size"):
        b"".join(ctx.stream())


def test_custom_dockerfile_context_keeps_the_dockerfile(project: Path) -> None:
    model = project / "model"
    with pytest.raises(InvalidInput, match="dockerfile: .* has no Dockerfile"):
        bc.custom_context(model, ROOTS)
    (model / "Dockerfile").write_text("FROM scratch\nCOPY . /m\n")
    (model / ".dockerignore").write_text("*\n!weights.bin\n")
    ctx, text = bc.custom_context(model, ROOTS)
    assert text.startswith("FROM scratch")
    assert set(members(ctx)) == {"Dockerfile", "weights.bin", ".dockerignore"}


def test_content_hash_follows_content_and_options(project: Path) -> None:
    def digest(extra: dict) -> str:
        ctx, _ = bc.generated_context(project / "model", project, [], "b:1", ENV, ROOTS)
        return ctx.digest(sha, extra)

    first = digest({"build_args": {}})
    assert digest({"build_args": {}}) == first
    assert digest({"build_args": {"A": "1"}}) != first
    (project / "model" / "config.json").write_text('{"x": 1}')
    assert digest({"build_args": {}}) != first


@pytest.mark.parametrize(("value", "ok"), [
    ("m:1.0", True), ("registry.local:5000/team/m:1.0-int4", True), ("localhost/m", True), ("m", True),
    ("M:1", False), ("m:.x", False), ("m@sha256:" + "a" * 64, False), ("-m:1", False), ("m::1", False),
    ("a" * 256, False), ("m:" + "t" * 129, False), ("m/../x:1", False),
])
def test_image_reference_rule(value: str, ok: bool) -> None:
    if ok:
        assert rules.BUILD.for_create({"release_id": 1, "tag": value})["tag"] == value
    else:
        with pytest.raises(InvalidInput, match="^tag: "):
            rules.BUILD.for_create({"release_id": 1, "tag": value})


def test_build_option_rules() -> None:
    for body, field in [({"release_id": 1, "build_args": {"1A": "x"}}, "build_args"),
                        ({"release_id": 1, "build_args": {"A": 1}}, "build_args"),
                        ({"release_id": 1, "platform": "amd64"}, "platform"),
                        ({"release_id": 1, "accelerator": "tpu"}, "accelerator"),
                        ({"release_id": 1, "run_check": {"devices": "rocm"}}, "run_check"),
                        ({"release_id": 1, "run_check": {"command": []}}, "run_check"),
                        ({"release_id": 1, "project": "../elsewhere"}, "project"),
                        ({"release_id": 0}, "release_id"), ({}, "release_id")]:
        with pytest.raises(InvalidInput) as info:
            rules.BUILD.for_create(body)
        assert info.value.field == field, body
    with pytest.raises(InvalidInput, match="^registry: "):
        rules.PUSH.for_create({"registry": "http://x"})


def test_default_tags_fit_the_grammar() -> None:
    assert rules.default_tag("Llama-3_8B", "1.0.0+rocm", "int4") == "llama-3_8b:1.0.0-rocm-int4"
    assert rules.default_tag("m", "v2", "none") == "m:v2"
    assert rules._image_problem(rules.default_tag("A..B", "1", "gguf-q4_k_m")) is None
    assert rules.without_registry("127.0.0.1:5000/team/m") == "team/m"
    assert rules.without_registry("team/m") == "team/m"
    assert rules.split_image("127.0.0.1:5000/m") == ("127.0.0.1:5000/m", "latest")
