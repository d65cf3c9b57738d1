"""Declared vs installed: rows, the protected set and an offline pip check.

Most tests use small Probe-shaped dataclasses (what deps.probe returns, built by hand,
since a ROCm GPU cannot run here) and real project files in tmp_path; the last test
probes a real virtual environment built from the issue's wheelhouse."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jupyter_mlops.deps.declared import read_declared
from jupyter_mlops.deps.status import (
    DEFAULT_PROTECTED,
    Broken,
    Status,
    check,
    pip_check,
    protected_set,
)

ENV = {
    "implementation_name": "cpython", "implementation_version": "3.11.7", "os_name": "posix",
    "platform_machine": "x86_64", "platform_python_implementation": "CPython", "platform_release": "6.1.0",
    "platform_system": "Linux", "platform_version": "#1 SMP", "python_full_version": "3.11.7",
    "python_version": "3.11", "sys_platform": "linux",
}


@dataclass(frozen=True)
class Dist:
    name: str
    version: str
    requires: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.name.lower().replace("_", "-").replace(".", "-")


@dataclass
class FakeProbe:
    """Probe-shaped: what deps.probe.Probe offers to the check."""

    dists: list[Dist]
    marker_env: dict[str, str] = field(default_factory=lambda: dict(ENV))
    python: str = "/envs/k/bin/python"

    @property
    def distributions(self) -> dict[str, Dist]:
        return {d.key: d for d in self.dists}


ROCM = [
    Dist("torch", "2.3.1+rocm5.7", ("filelock", "typing-extensions>=4.8.0", "sympy",
                                    "nvidia-cublas-cu12==12.1.3.1; platform_system == 'Windows'")),
    Dist("torchvision", "0.18.1+rocm5.7", ("numpy", "torch==2.3.1", "pillow!=8.3.*,>=5.3.0")),
    Dist("pytorch-triton-rocm", "2.3.1", ("filelock",)),
    Dist("typing_extensions", "4.12.2"),
    Dist("sympy", "1.13.0", ("mpmath<1.4,>=1.1.0",)),
    Dist("mpmath", "1.3.0"),
    Dist("numpy", "2.1.0rc1"),
    Dist("pillow", "10.4.0"),
    Dist("alpha", "1.0"),
    Dist("vision-tools", "0.3", ("torchvision==0.18.1+rocm5.7", "alpha>=1")),
    Dist("nvidia-nccl-cu12", "2.20.5"),
]


def project(tmp_path: Path, requirements: str = "", pyproject: str = "") -> Path:
    if requirements:
        (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    if pyproject:
        (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return tmp_path


def status(tmp_path: Path, dists: list[Dist], requirements: str = "", pyproject: str = "", **kw: object) -> Status:
    decl = read_declared(project(tmp_path, requirements, pyproject), **kw)  # type: ignore[arg-type]
    return check(FakeProbe(dists), decl)


def rows(st: Status) -> dict[str, tuple[str, str]]:
    return {r.key: (r.state, r.reason) for r in st.rows}


# ---- protected set ---------------------------------------------------------------------


def test_protected_set_reasons() -> None:
    found = protected_set(FakeProbe(ROCM))
    assert found == {
        "torch": "configured as protected; accelerator build 2.3.1+rocm5.7",
        "torchvision": "configured as protected; accelerator build 0.18.1+rocm5.7; pins torch==2.3.1",
        "pytorch-triton-rocm": "configured as protected",
        "nvidia-nccl-cu12": "configured as protected",
        # pins a protected package, which pins another: protected in turn
        "vision-tools": "pins torchvision==0.18.1+rocm5.7",
    }


def test_protected_by_label_alone_and_by_configured_glob() -> None:
    probe = FakeProbe([
        Dist("jax", "0.4.30+cuda12"), Dist("intel-ext", "2.1.0+xpu"), Dist("hipified", "1.0+hip6"),
        Dist("plain", "1.0+local7"), Dist("rocm-smi-lib", "6.0"), Dist("mylib", "1.0"),
        Dist("uses-jax", "1.0", ("jax===0.4.30+cuda12",)), Dist("loose", "1.0", ("jax>=0.4", "intel-ext==2.*")),
        Dist("maybe", "1.0", ("jax==0.4.30; sys_platform == 'win32'",)),
    ])
    assert protected_set(probe, patterns=("rocm-*", "MyLib")) == {
        "jax": "accelerator build 0.4.30+cuda12",
        "intel-ext": "accelerator build 2.1.0+xpu",
        "hipified": "accelerator build 1.0+hip6",
        "rocm-smi-lib": "configured as protected",
        "mylib": "configured as protected",
        "uses-jax": "pins jax===0.4.30+cuda12",
    }
    assert protected_set(probe, patterns=()) == {
        "jax": "accelerator build 0.4.30+cuda12", "intel-ext": "accelerator build 2.1.0+xpu",
        "hipified": "accelerator build 1.0+hip6", "uses-jax": "pins jax===0.4.30+cuda12"}
    assert "nvidia-*" in DEFAULT_PROTECTED


# ---- rows ------------------------------------------------------------------------------


def test_ok_missing_outdated_and_prereleases(tmp_path: Path) -> None:
    st = status(tmp_path, ROCM, "alpha>=2.0\nnumpy>=2.0\nbeta\npillow>=10,<11\nSympy==1.13.0\n")
    assert rows(st) == {
        "alpha": ("outdated", "installed 1.0 does not satisfy >=2.0"),
        "numpy": ("ok", ""),  # 2.1.0rc1 counts: prereleases compare
        "beta": ("missing", "not installed; declared beta"),
        "pillow": ("ok", ""),
        "sympy": ("ok", ""),
    }
    sympy = st.rows[4]
    assert (sympy.name, sympy.installed, sympy.sources, sympy.protected) == ("Sympy", "1.13.0", ["requirements.txt:5"],
                                                                           False)
    assert st.needs_fix is True
    assert st.summary == {"ok": 3, "missing": 1, "outdated": 1, "protected": 0, "skipped": 0,
                          "broken": 2, "unsupported": 0}


def test_protected_accelerator_build_is_kept(tmp_path: Path) -> None:
    st = status(tmp_path, ROCM, "torch>=2.4\ntorchvision\nnvidia-nccl-cu12>=2.21\n")
    torch, vision, nccl = st.rows
    assert (torch.state, torch.protected, torch.installed) == ("protected", True, "2.3.1+rocm5.7")
    assert torch.reason == ("torch 2.3.1+rocm5.7 is configured as protected and is an accelerator build; "
                            "the declaration torch>=2.4 would replace it")
    assert (vision.state, vision.protected) == ("ok", True)
    assert vision.reason == ("satisfied; kept as installed (configured as protected; "
                             "accelerator build 0.18.1+rocm5.7; pins torch==2.3.1)")
    assert (nccl.state, nccl.reason) == (
        "protected", ("nvidia-nccl-cu12 2.20.5 is configured as protected; "
                     "the declaration nvidia-nccl-cu12>=2.21 would replace it"))
    assert st.needs_fix is True  # filelock is missing for torch and is not protected
    assert check(FakeProbe([*ROCM, Dist("filelock", "3.13.1")]), read_declared(tmp_path)).needs_fix is False


def test_label_alone_and_exact_pin_make_rows_protected(tmp_path: Path) -> None:
    dists = [Dist("torch", "2.3.1+rocm5.7"), Dist("myvision", "1.0", ("torch==2.3.1",)),
             Dist("mylib", "1.0+cu121")]
    decl = read_declared(project(tmp_path, "myvision>=2\nmylib>=1.1\ntorch>=2.4\n"))
    st = check(FakeProbe(dists), decl, protected_patterns=())
    assert rows(st) == {
        "myvision": ("protected", "myvision 1.0 pins torch==2.3.1; the declaration myvision>=2 would replace it"),
        "mylib": ("protected", "mylib 1.0+cu121 is an accelerator build; the declaration mylib>=1.1 would replace it"),
        "torch": ("protected", "torch 2.3.1+rocm5.7 is an accelerator build; the declaration torch>=2.4 would replace it"),
    }
    assert st.needs_fix is False
    assert st.protected == {"torch": "accelerator build 2.3.1+rocm5.7", "myvision": "pins torch==2.3.1",
                            "mylib": "accelerator build 1.0+cu121"}


def test_configured_protection_from_pyproject(tmp_path: Path) -> None:
    dists = [Dist("mylib", "1.0"), Dist("other", "1.0")]
    st = status(tmp_path, dists, pyproject="""\
[project]
name = "p"
dependencies = ["mylib>=2", "other>=2", "torch>=2"]
[tool.jupyter-mlops]
protected = ["MyLib"]
""")
    assert rows(st) == {
        "mylib": ("protected", "mylib 1.0 is configured as protected; the declaration mylib>=2 would replace it"),
        "other": ("outdated", "installed 1.0 does not satisfy >=2"),
        "torch": ("missing", ("torch is not installed and is configured as protected: install the build for this "
                             "machine's accelerator from its wheel index by hand")),
    }
    assert st.rows[2].protected is True
    assert st.needs_fix is True  # "other" alone


def test_missing_protected_alone_does_not_ask_for_a_fix(tmp_path: Path) -> None:
    st = status(tmp_path, [Dist("alpha", "1.0")], "torch>=2\nalpha\n")
    assert [r.state for r in st.rows] == ["missing", "ok"]
    assert st.needs_fix is False


def test_markers_and_extras(tmp_path: Path) -> None:
    pyproject = """\
[project]
name = "p"
dependencies = [
  "alpha",
  "old-thing; python_version < '3.0'",
  "gpu-only; extra == 'gpu'",
  "linux-only>=1; sys_platform == 'linux'",
]
[project.optional-dependencies]
gpu = ["pillow>=99"]
"""
    dists = [Dist("alpha", "1"), Dist("linux-only", "1.0")]
    st = status(tmp_path, dists, pyproject=pyproject)
    assert rows(st) == {
        "alpha": ("ok", ""),
        "old-thing": ("skipped", 'marker python_version < "3.0" is false here'),
        "gpu-only": ("skipped", 'marker extra == "gpu" is false here'),
        "linux-only": ("ok", ""),
    }
    st = status(tmp_path, dists, extras=["gpu"])
    assert rows(st)["gpu-only"] == ("missing", "not installed; declared gpu-only; extra == \"gpu\"")
    assert rows(st)["pillow"] == ("missing", "not installed; declared pillow>=99")
    assert rows(st)["old-thing"][0] == "skipped"
    assert st.summary["skipped"] == 1 and st.summary["missing"] == 2
    # the kernel's own marker environment decides, not the server's
    win = FakeProbe(dists, marker_env={**ENV, "sys_platform": "win32", "python_version": "2.7",
                                       "python_full_version": "2.7.18"})
    st = check(win, read_declared(tmp_path))
    assert rows(st)["old-thing"][0] == "missing"
    assert rows(st)["linux-only"] == ("skipped", 'marker sys_platform == "linux" is false here')


def test_same_name_declared_twice_is_combined(tmp_path: Path) -> None:
    st = status(tmp_path, [Dist("alpha", "1.5")], "alpha>=1.0\nalpha<1.4 ; python_version >= '3'\n",
                pyproject='[project]\nname = "p"\ndependencies = ["ALPHA!=1.2"]\n')
    (row,) = st.rows
    assert row.state == "outdated"
    assert row.specifier == "!=1.2,<1.4,>=1.0"
    assert row.reason == "installed 1.5 does not satisfy !=1.2,<1.4,>=1.0"
    assert row.sources == ["pyproject.toml [project.dependencies]", "requirements.txt:1", "requirements.txt:2"]
    assert row.name == "ALPHA"


def test_constraints_narrow_the_check(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("alpha<1.5\nnot-declared==1\n", encoding="utf-8")
    st = status(tmp_path, [Dist("alpha", "1.6")], "alpha>=1\n-c c.txt\n")
    (row,) = st.rows  # a constraint alone declares nothing
    assert (row.state, row.specifier) == ("outdated", "<1.5,>=1")
    assert row.reason == "installed 1.6 does not satisfy <1.5,>=1 (narrowed by constraints)"
    assert row.constraints == ["alpha<1.5 (c.txt:1)"]


def test_requested_extras_need_their_dependencies(tmp_path: Path) -> None:
    dists = [Dist("accel", "1.0", ("numpy", "torch>=2; extra == 'torch'", "rich; extra == 'ui'")), Dist("numpy", "2.0"),
             Dist("torch", "1.13")]
    st = status(tmp_path, dists, "accel[torch,ui]>=1\n")
    assert rows(st)["accel"] == ("missing", ("extra 'torch' needs torch>=2, but 1.13 is installed; "
                                            "extra 'ui' needs rich, which is not installed"))
    assert st.rows[0].extras == ["torch", "ui"]


def test_unsupported_and_index_options_pass_through(tmp_path: Path) -> None:
    st = status(tmp_path, [], "-e .\n--pre\n-i https://user:pw@idx.example/simple\n")
    assert st.rows == [] and st.needs_fix is False
    assert [u.text for u in st.unsupported] == ["-e ."]
    assert st.index_options == ["--pre", "--index-url", "https://user:pw@idx.example/simple"]
    assert st.to_dict()["index_options"] == ["--pre", "--index-url", "https://****@idx.example/simple"]
    assert st.summary["unsupported"] == 1


# ---- offline pip check -----------------------------------------------------------------


def test_pip_check_offline() -> None:
    dists = [
        Dist("pytorch-triton-rocm", "2.3.1", ("filelock",)),
        Dist("beta", "1.0", ("alpha>=2.0", "gamma; python_version < '3'", "delta; extra == 'x'")),
        Dist("alpha", "1.0"),
        Dist("uses-beta", "1.0", ("beta[y]",)),
        Dist("pre", "1.0", ("alpha>=1.0a1",)),
        Dist("bad-meta", "1.0", ("this is not a requirement!",)),
    ]
    found = pip_check(FakeProbe(dists))
    assert [b.message for b in found] == [
        "beta 1.0 has requirement alpha>=2.0, but you have alpha 1.0.",
        "pytorch-triton-rocm 2.3.1 requires filelock, which is not installed.",
    ]
    assert found[1] == Broken("pytorch-triton-rocm", "2.3.1", "filelock", "filelock", None)
    assert found[1].to_dict()["kind"] == "missing" and found[0].to_dict()["kind"] == "conflict"
    # extras switched on by another installed distribution, or by the declaration, count
    dists[3] = Dist("uses-beta", "1.0", ("beta[x]",))
    assert "beta 1.0 requires delta, which is not installed." in [b.message for b in pip_check(FakeProbe(dists))]
    dists[3] = Dist("uses-beta", "1.0")
    assert [b.dependency for b in pip_check(FakeProbe(dists), extras={"beta": ["X"]})] == ["alpha", "delta", "filelock"]


def test_status_to_dict_is_json(tmp_path: Path) -> None:
    st = status(tmp_path, ROCM, "torch>=2.4\nalpha\n")
    data = json.loads(json.dumps(st.to_dict()))
    assert data["project"] == str(tmp_path.resolve())
    assert data["python"] == "/envs/k/bin/python"
    assert data["rows"][0]["state"] == "protected"
    assert data["broken"][0] == {
        "name": "pytorch-triton-rocm", "version": "2.3.1", "requirement": "filelock", "dependency": "filelock",
        "installed": None, "kind": "missing", "message": "pytorch-triton-rocm 2.3.1 requires filelock, which is not installed."}
    assert data["protected"]["torch"] == "configured as protected; accelerator build 2.3.1+rocm5.7"
    assert set(data["summary"]) == {"ok", "missing", "outdated", "protected", "skipped", "broken", "unsupported"}


def test_fifty_requirements_against_two_hundred_distributions(tmp_path: Path) -> None:
    """Scale sanity (the timing itself belongs to bench/deps.py)."""
    dists = [Dist(f"pkg-{i:03d}", f"1.{i % 7}", tuple(f"pkg-{j:03d}>=1.0" for j in range(max(0, i - 3), i)))
             for i in range(200)]
    text = "".join(f"pkg-{i:03d}>=1.{i % 5}; python_version >= '3.8'\n" for i in range(0, 100, 2))
    st = status(tmp_path, dists, text)
    assert len(st.rows) == 50 and st.broken == []
    assert st.summary["ok"] + st.summary["outdated"] == 50


# ---- a real environment ----------------------------------------------------------------

try:  # the probe and the shared wheelhouse come from other parts of the doctor
    from deps_support import rocm_env, wheelhouse  # noqa: F401

    from jupyter_mlops.deps.probe import probe as real_probe
except ImportError:  # pragma: no cover
    real_probe = None  # type: ignore[assignment]


@pytest.mark.skipif(real_probe is None, reason="jupyter_mlops.deps.probe or tests/deps_support.py not available")
def test_check_a_real_rocm_venv(tmp_path: Path, rocm_env: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "torch>=2.4\ntorchvision\nalpha>=2.0\nbeta\naccel>=1.0\nfilelock\nneeds-new-torch\n", encoding="utf-8")
    st = check(real_probe(rocm_env), read_declared(tmp_path))
    assert rows(st)["torch"] == (
        "protected", ("torch 2.3.1+rocm5.7 is configured as protected and is an accelerator build; "
                     "the declaration torch>=2.4 would replace it"))
    assert rows(st)["torchvision"][0] == "ok"
    assert rows(st)["alpha"] == ("outdated", "installed 1.0 does not satisfy >=2.0")
    assert rows(st)["beta"] == ("ok", "")
    assert rows(st)["accel"] == ("ok", "")
    assert rows(st)["filelock"][0] == "missing"
    assert rows(st)["needs-new-torch"][0] == "missing"
    assert "pytorch-triton-rocm 2.3.1 requires filelock, which is not installed." in [b.message for b in st.broken]
    assert st.protected["torchvision"] == "configured as protected; accelerator build 0.18.1+rocm5.7; pins torch==2.3.1"
    assert st.needs_fix is True
