"""Dependency doctor speed, against named peers in the same run (medians):

1. Check a project of 50 requirements against an env of 160 distributions:
   ours (probe + check) vs `pip check` + `pip list --format json` on the same env.
   Target: at least 3x faster.
2. Repair 20 missing packages from a local wheelhouse: ours (plan + batch install
   with the protected builds pinned, verify) vs one `pip install` per package, and vs
   a single raw `uv pip install` of the same set. Targets: at least 5x faster than the
   naive loop; within 1.3x of raw uv.

    python bench/deps.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from deps_support import build_wheel, build_wheelhouse, clone_venv, isolated_env, make_venv, uv_binary  # noqa: E402

from jupyter_mlops.config import Settings  # noqa: E402
from jupyter_mlops.deps.declared import read_declared  # noqa: E402
from jupyter_mlops.deps.install import install  # noqa: E402
from jupyter_mlops.deps.plan import make_plan, protected_pins  # noqa: E402
from jupyter_mlops.deps.probe import probe  # noqa: E402
from jupyter_mlops.deps.service import declared_after, to_install  # noqa: E402
from jupyter_mlops.deps.status import check  # noqa: E402
from jupyter_mlops.services import Services  # noqa: E402

N_INSTALLED = 150
N_MISSING = 20


def median_of(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, env=os.environ.copy(), timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=float, default=2.0,
                        help="payload of each missing package's wheel (real packages are not empty)")
    args = parser.parse_args()
    uv = uv_binary()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ.clear()
        os.environ.update(isolated_env(tmp_path / "cache"))
        wheels = build_wheelhouse(tmp_path / "wheels")
        for i in range(N_INSTALLED):
            build_wheel(wheels, f"pkg-{i:03d}", "1.0", [f"pkg-{i - 1:03d}>=1.0"] if i % 3 else [])
            build_wheel(wheels, f"pkg-{i:03d}", "1.1", [f"pkg-{i - 1:03d}>=1.0"] if i % 3 else [])
        for i in range(N_MISSING):
            payload = os.urandom(int(args.size_mb * 1024 * 1024))  # incompressible, like model code and data
            build_wheel(wheels, f"new-{i:02d}", "1.0", files={f"new_{i:02d}/__init__.py": "", f"new_{i:02d}/data.bin": payload})
        base = make_venv(tmp_path / "base", ["torch==2.3.1+rocm5.7", "torchvision==0.18.1+rocm5.7",
                                             *(f"pkg-{i:03d}==1.0" for i in range(N_INSTALLED))], wheels, "uv")
        run([str(base), "-m", "ensurepip", "--default-pip"])  # pip for the peers
        project = tmp_path / "project"
        project.mkdir()
        reqs = [f"pkg-{i:03d}>=1.0" for i in range(0, 100, 2)]
        (project / "requirements.txt").write_text("\n".join(["--no-index", f"--find-links {wheels}", *reqs]) + "\n")
        n_dists = len(probe(base).distributions)

        def ours_check() -> None:
            check(probe(base), read_declared(project))

        def pip_peer() -> None:
            run([str(base), "-m", "pip", "check"])
            run([str(base), "-m", "pip", "list", "--format", "json"])

        # the whole service call a face makes: the interpreter's check (-I -c), the probe, the
        # comparison and a history row in a real SQLite store
        services = Services(Settings.of(tmp_path / "ws", allowed_pythons=[str(base.parent.parent)],
                                        extra_roots=[str(project)]))

        def service_check() -> None:
            services.deps.check(services.deps.target(str(base), str(project)), "bench")

        ours_check()
        service_check()
        ours = median_of(ours_check, args.runs)
        whole = median_of(service_check, args.runs)
        peer = median_of(pip_peer, args.runs)
        print(f"check: {len(reqs)} requirements vs {n_dists} distributions")
        print(f"  ours (probe + check) median {1000 * ours:8.1f} ms | pip check + pip list median "
              f"{1000 * peer:8.1f} ms | ratio {peer / ours:5.1f}x faster (target >= 3x)")
        print(f"  ours as a face calls it (interpreter check, probe, check, history row) median {1000 * whole:8.1f} ms"
              f" | ratio {peer / whole:5.1f}x faster")

        missing = [f"new-{i:02d}" for i in range(N_MISSING)]
        (project / "requirements.txt").write_text(
            "\n".join(["--no-index", f"--find-links {wheels}", *reqs, *missing]) + "\n")
        opts = ["--no-index", "--find-links", str(wheels)]
        counter = iter(range(10_000))

        def fresh() -> Path:
            return clone_venv(base, tmp_path / f"env-{next(counter)}")

        def timed(fn: Callable[[Path], None]) -> float:
            """Median over runs, each on a fresh copy of the env and with empty installer
            caches (as for packages never installed on this machine before)."""
            samples = []
            for _ in range(args.runs):
                python = fresh()
                cache = tmp_path / f"cache-{next(counter)}"
                os.environ["UV_CACHE_DIR"], os.environ["PIP_CACHE_DIR"] = str(cache / "uv"), str(cache / "pip")
                t0 = time.perf_counter()
                fn(python)
                samples.append(time.perf_counter() - t0)
            return statistics.median(samples)

        def ours_repair(python: Path, installer: str) -> None:
            env = probe(python)
            status = check(env, read_declared(project))
            plan = make_plan(env, to_install(status), status.protected, declared=declared_after(status),
                             index_options=opts, installer=installer)
            assert plan.ok and len(plan.changes) == N_MISSING, plan.to_dict()
            outcome = install(env, installer, plan.requirements, protected_pins(env, status.protected), opts,
                              lambda line: None)
            assert len(outcome.installed) == N_MISSING
            after = probe(python)
            assert after.distributions["torch"].record_sha256 == env.distributions["torch"].record_sha256

        def naive(python: Path) -> None:
            for name in missing:
                run([str(python), "-m", "pip", "install", "-q", *opts, name])

        def raw_uv(python: Path) -> None:
            run([uv, "pip", "install", "--python", str(python), *opts, *missing])

        print(f"repair: {N_MISSING} missing packages of {args.size_mb:g} MB each, fresh copy of the env each run")
        ours_pip = timed(lambda p: ours_repair(p, "pip"))
        naive_t = timed(naive)
        print(f"  ours with pip median {ours_pip:6.2f} s | one pip install per package median {naive_t:6.2f} s | "
              f"ratio {naive_t / ours_pip:5.1f}x faster (target >= 5x)")
        if uv:
            ours_uv = timed(lambda p: ours_repair(p, "uv"))
            raw = timed(raw_uv)
            print(f"  ours with uv median {ours_uv:6.2f} s | one pip install per package {naive_t:6.2f} s | "
                  f"ratio {naive_t / ours_uv:5.1f}x")
            print(f"  ours with uv median {ours_uv:6.2f} s | raw `uv pip install` of the set median {raw:6.2f} s | "
                  f"ours/raw {ours_uv / raw:5.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
