"""`python -m jupyter_mlops.cli` and `jupyter mlops` as real subprocesses on a temporary workspace."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def env(workspace: Path) -> dict[str, str]:
    """The environment of each command: the workspace set, no other store configured."""
    env = dict(os.environ)
    env["JUPYTER_MLOPS_WORKSPACE"] = str(workspace)
    env["JUPYTERHUB_USER"] = "cli-user"
    for name in ("JUPYTER_MLOPS_DB_URL", "JUPYTER_MLOPS_MODELS_DIR"):
        env.pop(name, None)
    return env


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Run:
    def run(*args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        if expect is not None:
            assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    return run


def snapshot(workspace: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every registry row, read with plain sqlite3."""
    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        return {t: conn.execute(f"select * from {t} order by 1").fetchall()
                for t in ("models", "model_tags", "releases", "aliases", "audit_events")}


def test_create_list_show_promote(cli: Run, workspace: Path) -> None:
    out = cli("models", "create", "llama-ft", "--storage-path", "hf://acme/llama-ft", "--tag", "chat",
              "--parameter-count", "7B", "--json").stdout
    model = json.loads(out)
    assert model["name"] == "llama-ft" and model["parameter_count"] == 7_000_000_000 and model["tags"] == ["chat"]

    release = json.loads(cli("releases", "create", "llama-ft", "1.2.0", "--quantization", "gguf-q4_k_m",
                             "--notes", "first", "--json").stdout)
    assert release["status"] == "candidate" and release["quantization"] == "gguf-q4_k_m"

    table = cli("models", "list").stdout
    lines = table.splitlines()
    assert lines[0] == "models (1)" and lines[1].split()[:2] == ["name", "base_model"]
    assert "llama-ft" in lines[3] and "hf://acme/llama-ft" in lines[3]

    shown = cli("models", "show", "llama-ft").stdout
    assert "release_count    1" in shown

    promoted = cli("promote", str(release["id"]))
    assert promoted.stdout.startswith(f"release {release['id']} is now released")
    listed = json.loads(cli("--json", "releases", "list", "--model", "llama-ft", "--status", "released").stdout)
    assert [r["id"] for r in listed["items"]] == [release["id"]]

    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        assert conn.execute("select status from releases").fetchall() == [("released",)]
        assert conn.execute("select distinct actor from audit_events").fetchall() == [("cli-user",)]
    audit = cli("audit", "--model", "llama-ft").stdout
    assert "promote" in audit and "cli-user" in audit


def test_bad_input_exits_1_and_changes_nothing(cli: Run, workspace: Path) -> None:
    cli("models", "create", "m1", "--storage-path", "/data/m1")
    cli("releases", "create", "m1", "1.0")
    before = snapshot(workspace)

    cases = [
        (("releases", "create", "m1", "not-a-version"), "version: must be a version"),
        (("releases", "create", "m1", "2.0", "--quantization", "int3"), "quantization: must be one of"),
        (("releases", "create", "m1", "1.0"), "version: release m1:1.0:none already exists"),
        (("models", "create", "bad name", "--storage-path", "/x"), "name: must start with a letter or digit"),
        (("models", "create", "m2", "--storage-path", "ftp://host/x"), "storage_path: must be an s3:// or hf://"),
        (("models", "create", "m2", "--storage-path", "/x", "--metadata", "[1, 2]"), "metadata: must be an object"),
        (("models", "create", "m2", "--storage-path", "/x", "--metadata", "{oops"), "metadata: must be valid JSON"),
        (("models", "list", "--limit", "0"), "limit: must be a whole number from 1 to 500"),
        (("models", "delete", "m1"), "has 1 release(s)"),
        (("releases", "show", "99"), "release 99 does not exist"),
        (("demote", "1"), "release 1 is candidate; demote needs one that is released"),
    ]
    for args, message in cases:
        proc = cli(*args, expect=1)
        assert proc.stdout == ""
        assert proc.stderr.startswith("error: ") and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert snapshot(workspace) == before


def test_usage_errors_exit_2(cli: Run, workspace: Path) -> None:
    proc = cli("models", "create", "m1", expect=2)
    assert "the following arguments are required: --storage-path" in proc.stderr
    assert proc.stderr.startswith("usage: jupyter mlops models create")
    assert "invalid choice" in cli("frobnicate", expect=2).stderr
    assert "argument ID: must be a whole number" in cli("promote", "x", expect=2).stderr
    assert "a command is required" in cli(expect=2).stderr
    assert "usage: jupyter mlops releases" in cli("releases", expect=2).stderr  # group without a command
    assert not (workspace / ".mlops" / "mlops.db").exists()  # usage errors never open the store


def test_help(cli: Run) -> None:
    top = cli("--help").stdout
    assert top.startswith("usage: jupyter mlops") and "dashboard" in top and "jobs" in top
    create = cli("models", "create", "--help").stdout
    assert "--storage-path P" in create and "--tag T" in create and "--metadata JSON" in create
    assert "--after N" in cli("jobs", "log", "--help").stdout
    assert "--n N" in cli("jobs", "selftest", "--help").stdout


def test_workspace_option_and_selftest(cli: Run, tmp_path: Path) -> None:
    other = tmp_path / "other"
    cli("--workspace", str(other), "models", "create", "far", "--storage-path", "/far")
    assert json.loads(cli("models", "list", "--json").stdout)["items"] == []
    far = json.loads(cli("models", "list", "--json", "--workspace", str(other)).stdout)
    assert [m["name"] for m in far["items"]] == ["far"]

    job = json.loads(cli("jobs", "selftest", "--n", "3", "--delay", "0.05", "--json").stdout)
    assert job["state"] == "succeeded" and job["result"] == {"counted": 3} and job["owner"] == "cli-user"
    log = cli("jobs", "log", str(job["id"])).stdout
    assert "step 3 of 3" in log
    assert "already succeeded" in cli("jobs", "cancel", str(job["id"]), expect=1).stderr

    failed = cli("jobs", "selftest", "--n", "3", "--delay", "0.01", "--fail-at", "2", expect=1)
    assert f"error: selftest job {job['id'] + 1} failed: RuntimeError: asked to fail at step 2" in failed.stderr
    shown = json.loads(cli("jobs", "show", str(job["id"] + 1), "--json").stdout)
    assert shown["state"] == "failed" and shown["progress"]["done"] == 1


def test_jupyter_mlops_console_command(env: dict[str, str], tmp_path: Path) -> None:
    # The environment's own scripts folder first, as in an activated environment.
    bindir = str(Path(sys.executable).parent)
    env = {**env, "PATH": bindir + os.pathsep + env.get("PATH", "")}
    proc = subprocess.run(["jupyter", "mlops", "models", "create", "via-jupyter", "--storage-path", "/v", "--json"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "via-jupyter"
    proc = subprocess.run(["jupyter", "mlops", "models", "show", "nope"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "model 'nope' does not exist" in proc.stderr
