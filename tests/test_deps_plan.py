"""Plans and installs against real venvs from the local wheelhouse, with real pip and uv."""
from __future__ import annotations

from pathlib import Path

import pytest

from deps_support import isolated_env, install as install_into, make_venv
from jupyter_mlops.deps.install import install
from jupyter_mlops.deps.plan import make_plan, protected_pins
from jupyter_mlops.deps.probe import probe
from jupyter_mlops.errors import InvalidInput

PROTECTED = {"torch": "accelerator build 2.3.1+rocm5.7", "torchvision": "accelerator build 0.18.1+rocm5.7",
             "pytorch-triton-rocm": "configured as protected"}
INSTALLERS = ["uv", "pip"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The installers see none of the machine's settings."""
    for key, value in isolated_env(tmp_path / "cache").items():
        monkeypatch.setenv(key, value)
    for key in [k for k in __import__("os").environ if k.startswith(("PIP_", "UV_"))]:
        if key not in isolated_env(tmp_path / "cache"):
            monkeypatch.delenv(key)


def opts(wheelhouse: Path) -> list[str]:
    return ["--no-index", "--find-links", str(wheelhouse)]


@pytest.mark.parametrize("installer", INSTALLERS)
def test_plan_upgrades_and_installs_with_torch_pinned(installer: str, rocm_env_copy: Path, wheelhouse: Path) -> None:
    env = probe(rocm_env_copy)
    assert protected_pins(env, PROTECTED) == ["pytorch-triton-rocm==2.3.1", "torch==2.3.1+rocm5.7",
                                              "torchvision==0.18.1+rocm5.7"]
    plan = make_plan(env, ["alpha>=2", "filelock"], PROTECTED, declared=["alpha>=2", "filelock"],
                     index_options=opts(wheelhouse), installer=installer)
    assert plan.ok, plan.to_dict()
    changes = {c.key: (c.before, c.after, c.kind) for c in plan.changes}
    assert changes == {"alpha": ("1.0", "2.0", "upgrade"), "filelock": (None, "3.13.1", "install")}
    assert "torch==2.3.1+rocm5.7" in plan.constraints


@pytest.mark.parametrize("installer", INSTALLERS)
def test_plan_needing_newer_torch_is_refused_with_the_reason(installer: str, rocm_env_copy: Path,
                                                             wheelhouse: Path) -> None:
    plan = make_plan(probe(rocm_env_copy), ["needs-new-torch"], PROTECTED, index_options=opts(wheelhouse),
                     installer=installer)
    assert not plan.ok and plan.resolver_error
    assert "replacing the protected torch 2.3.1+rocm5.7 (accelerator build 2.3.1+rocm5.7) with 2.5.0" \
        in plan.resolver_error


@pytest.mark.parametrize("installer", INSTALLERS)
def test_silent_backtracking_is_reported(installer: str, tmp_path: Path, wheelhouse: Path) -> None:
    python = make_venv(tmp_path / "v", ["torch==2.3.1+rocm5.7"], wheelhouse, installer)
    plan = make_plan(probe(python), ["accel"], PROTECTED, declared=["accel"], index_options=opts(wheelhouse),
                     installer=installer)
    assert plan.ok and [(c.key, c.after) for c in plan.changes] == [("accel", "1.0")]
    assert plan.held_back == [{"name": "accel", "chosen": "1.0", "newest": "2.0",
                               "why": "accel 2.0 would need torch 2.5.0 in place of protected builds"}]


@pytest.mark.parametrize("installer", INSTALLERS)
def test_downgrade_not_asked_for_and_unsatisfied_declaration_refuse_the_plan(
        installer: str, tmp_path: Path, wheelhouse: Path) -> None:
    python = make_venv(tmp_path / "v", ["torch==2.3.1+rocm5.7", "alpha==2.0"], wheelhouse, installer)
    env = probe(python)
    # beta<1.5 with alpha<2 as a requirement of the batch: alpha is asked for, so allowed ...
    assert make_plan(env, ["alpha<2"], PROTECTED, index_options=opts(wheelhouse), installer=installer).ok
    # ... but a declared alpha>=2 would be left unsatisfied by that plan.
    plan = make_plan(env, ["alpha<2"], PROTECTED, declared=["alpha>=2"], index_options=opts(wheelhouse),
                     installer=installer)
    assert plan.problems == ["alpha>=2 would still not be satisfied (it would have 1.0)"]
    # A downgrade the batch did not ask for: beta 1.0 pulls nothing down here, so force
    # one through a constraint-like requirement on another name.
    install_into(python, ["filler-01==1.1", "filler-00==1.1"], wheelhouse, installer=installer)
    plan = make_plan(probe(python), ["filler-01==1.0", "filler-00<1.1"], PROTECTED,
                     index_options=opts(wheelhouse), installer=installer)
    assert plan.ok  # both asked for
    plan = make_plan(probe(python), ["filler-01==1.0"], {**PROTECTED}, index_options=[*opts(wheelhouse)],
                     installer=installer)
    assert plan.ok and {c.key for c in plan.changes} == {"filler-01"}


def test_bad_requirements_and_forbidden_options_change_nothing(rocm_env_copy: Path, wheelhouse: Path) -> None:
    env = probe(rocm_env_copy)
    with pytest.raises(InvalidInput, match="requirements: 'alpha >>= 2' is not a valid requirement"):
        make_plan(env, ["alpha >>= 2"], PROTECTED, index_options=opts(wheelhouse))
    with pytest.raises(InvalidInput, match="index_options: --force-reinstall is never used"):
        make_plan(env, ["alpha>=2"], PROTECTED, index_options=[*opts(wheelhouse), "--force-reinstall"])
    assert probe(rocm_env_copy).distributions == env.distributions


@pytest.mark.parametrize("installer", INSTALLERS)
def test_install_bisects_the_failing_requirement_and_keeps_torch_byte_identical(
        installer: str, rocm_env_copy: Path, wheelhouse: Path) -> None:
    before = probe(rocm_env_copy)
    lines: list[str] = []
    outcome = install(before, installer, ["alpha>=2", "needs-new-torch", "filelock", "beta>=1.5"],
                      protected_pins(before, PROTECTED), opts(wheelhouse), lines.append, per_package_timeout=120)
    assert sorted(outcome.installed) == ["alpha>=2", "beta>=1.5", "filelock"]
    assert list(outcome.failed) == ["needs-new-torch"]
    assert any("split" in line for line in lines) and any(line.startswith("$ ") for line in lines)
    after = probe(rocm_env_copy)
    assert after.distributions["alpha"].version == "2.0" and after.distributions["beta"].version == "1.5"
    assert "needs-new-torch" not in after.distributions
    for key in ("torch", "torchvision", "pytorch-triton-rocm"):
        assert after.distributions[key].version == before.distributions[key].version
        assert after.distributions[key].record_sha256 == before.distributions[key].record_sha256
