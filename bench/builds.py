"""Image build speed: one release (weights in the workspace model cache, a requirements
layer installed from a local wheel) built through our build job vs `docker build` with
the classic builder (DOCKER_BUILDKIT=0, the builder docker-py drives) on the same
context materialized in a folder (the peer), both with --no-cache, after an untimed
warm-up round, alternating who goes first; prints medians, the ratio (target <= 1.10)
and the context bytes sent vs the bytes of the files the image needs.

    tests/services.sh run .venv/bin/python bench/builds.py [--runs 7 --mb 200 --files 4]

Needs a Docker daemon (DOCKER_HOST) and the docker CLI.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from deps_support import build_wheel  # noqa: E402
from docker_support import BASE_REPOSITORY, base_rootfs  # noqa: E402

REPO = "bench-org/model"
COMMIT = "b" * 40


def base_image(api: Any, tmp: Path) -> str:
    """The offline base image with python and pip (the tests' base), imported once."""
    reference = f"{BASE_REPOSITORY}:bench"
    if not api.images(name=reference, quiet=True):
        api.import_image(src=str(base_rootfs(tmp / "rootfs.tar")), repository=BASE_REPOSITORY, tag="bench",
                         changes=["ENV PATH=/usr/local/bin:/usr/bin:/bin"])
    return reference


def workspace(root: Path, mb: int, files: int) -> None:
    """A workspace whose model is in the Hugging Face cache layout (snapshot symlinks to
    blobs named by sha256) and whose project installs one local wheel."""
    repo = root / "models" / ("models--" + REPO.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    per_file = mb * 1024 * 1024 // files
    for i in range(files):
        data = os.urandom(per_file)
        sha = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / sha).write_bytes(data)
        (snap / f"model-{i:05d}.safetensors").symlink_to(f"../../blobs/{sha}")
    build_wheel(root / "third_party", "benchpkg", "1.0", files={"benchpkg/__init__.py": "X = 1\n"})
    (root / "requirements.txt").write_text("--no-index\n--find-links third_party\nbenchpkg==1.0\n")


def ours(services: Any, release_id: int, base: str, tag: str) -> tuple[float, dict[str, Any]]:
    """Seconds from asking for the build to its recorded success, with a worker set up as
    the server's (a thread with a standby runner)."""
    from jupyter_mlops.jobs.worker import Worker

    worker = Worker(services.store, standby=True)
    services.jobs.on_submit = worker.wake
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    time.sleep(3)  # the server has been up a while: its standby runner is ready
    t0 = time.time()
    build = services.builds.start({"release_id": release_id, "base_image": base, "tag": tag, "no_cache": True},
                                  "bench")
    deadline = time.monotonic() + 600
    job = services.jobs.get(build["job_id"])
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)  # a slow poll takes no CPU from the build; the job's own end time is measured
        job = services.jobs.get(build["job_id"])
    elapsed = datetime.fromisoformat(job["finished_at"]).timestamp() - t0 if job["finished_at"] else float("nan")
    worker.stop()
    thread.join(30)
    if job["state"] != "succeeded":
        raise RuntimeError(f"the build job ended {job['state']}: {job['error']}")
    return elapsed, services.builds.get(build["id"])


def materialize(services: Any, build: dict[str, Any], dest: Path) -> None:
    """The exact context our job sent (Dockerfile with its LABEL line, files), as a folder."""
    from jupyter_mlops.builds import context as bc
    from jupyter_mlops.builds.job import HASH_LABEL, LABEL, assemble
    from jupyter_mlops.store.schema import Model, Release

    with services.store.read() as s:
        release = s.get(Release, build["release_id"])
        model = s.get(Model, release.model_id)
        context, dockerfile = assemble(build["options"], release, model, services.workspace.root,
                                       services.workspace.models_dir)
        labels = {f"{LABEL}.model": model.name, f"{LABEL}.version": release.version,
                  f"{LABEL}.quantization": release.quantization, f"{LABEL}.release-id": str(release.id),
                  HASH_LABEL: build["context_hash"]}
    context = context.with_dockerfile(dockerfile + bc.label_line(labels))
    tar_path = dest.with_suffix(".tar")
    with open(tar_path, "wb") as fh:
        for chunk in context.stream():
            fh.write(chunk)
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="tar")
    tar_path.unlink()


def peer(folder: Path, tag: str) -> float:
    """Seconds for `DOCKER_BUILDKIT=0 docker build --no-cache` of the materialized context."""
    t0 = time.perf_counter()
    subprocess.run(["docker", "build", "--no-cache", "--rm", "--force-rm", "-q", "-t", tag, str(folder)],
                   check=True, capture_output=True, timeout=600, env={**os.environ, "DOCKER_BUILDKIT": "0"})
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args()
    from jupyter_mlops.builds.engine import connect
    from jupyter_mlops.services import Services
    from jupyter_mlops.config import Settings

    api = connect()
    ours_s, peer_s = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = base_image(api, tmp)
        root = tmp / "ws"
        workspace(root, args.mb, args.files)
        services = Services(Settings.of(root, models_dir=root / "models"))
        services.registry.create_model({"name": "bench", "storage_path": f"hf://{REPO}"}, "bench")
        release_id = services.registry.create_release({"model": "bench", "version": "1"}, "bench")["id"]
        # an untimed round warms both paths and gives the context the peer builds
        _, build = ours(services, release_id, base, "bench/ours:warm")
        folder = tmp / "peer"
        materialize(services, build, folder)
        peer(folder, "bench/peer:warm")
        for run in range(args.runs):
            # alternate who goes first; start each on a quiet disk, with no image of the last run left
            for side in (("ours", "peer") if run % 2 == 0 else ("peer", "ours")):
                for tag in (f"bench/{side}:{run - 1}" if run else f"bench/{side}:warm",):
                    api.remove_image(tag, force=True)
                os.sync()
                if side == "ours":
                    ours_s.append(ours(services, release_id, base, f"bench/ours:{run}")[0])
                else:
                    peer_s.append(peer(folder, f"bench/peer:{run}"))
        for side in ("ours", "peer"):
            api.remove_image(f"bench/{side}:{args.runs - 1}", force=True)
        services.store.dispose()
    a, b = statistics.median(ours_s), statistics.median(peer_s)
    print(f"build of a release with {args.mb} MB of weights in {args.files} files + a pip layer, --no-cache, "
          f"{args.runs} runs each, alternating:")
    print(f"  ours (build job) median {a:6.2f} s | docker build (classic builder) median {b:6.2f} s | "
          f"ratio {a / b:5.3f} (target <= 1.10)")
    print(f"  context sent {build['context_bytes']:,} bytes for {build['needed_bytes']:,} bytes of files "
          f"({build['context_files']} files): overhead {build['context_bytes'] / build['needed_bytes'] - 1:.3%}")
    api.close()


if __name__ == "__main__":
    main()
