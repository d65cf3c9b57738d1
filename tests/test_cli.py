"""`python -m jupyter_mlops.cli` and `jupyter mlops` as real subprocesses on a temporary workspace."""
from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

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

    listed = cli("models", "list")
    lines = listed.stdout.splitlines()
    # which workspace and store answered, on stderr (stdout is the answer alone)
    assert listed.stderr == f"workspace {workspace} (store sqlite:///{workspace}/.mlops/mlops.db)\n"
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
        (("releases", "create", "m1", "2.0", "--quantization", "q4 k m"), "quantization: must be a quantization"),
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


def test_workspace_option_and_selftest(cli: Run, tmp_path: Path, workspace: Path) -> None:
    other = tmp_path / "other"
    cli("--workspace", str(other), "models", "create", "far", "--storage-path", "/far")
    far = json.loads(cli("models", "list", "--json", "--workspace", str(other)).stdout)
    assert [m["name"] for m in far["items"]] == ["far"]
    assert far["workspace"] == {"path": str(other), "store": f"sqlite:///{other}/.mlops/mlops.db"}
    # the environment's workspace has no store yet: a read-only command says so and makes none
    refused = cli("models", "list", "--json", expect=1)
    assert "has no registry yet" in refused.stderr and "jupyter mlops init" in refused.stderr
    assert not (workspace / ".mlops" / "mlops.db").exists()
    cli("models", "create", "near", "--storage-path", "/near")  # a command that records makes it

    job = json.loads(cli("jobs", "selftest", "--n", "3", "--delay", "0.05", "--json").stdout)
    assert job["state"] == "succeeded" and job["result"] == {"counted": 3} and job["owner"] == "cli-user"
    log = cli("jobs", "log", str(job["id"])).stdout
    assert "step 3 of 3" in log
    assert "already succeeded" in cli("jobs", "cancel", str(job["id"]), expect=1).stderr

    failed = cli("jobs", "selftest", "--n", "3", "--delay", "0.01", "--fail-at", "2", expect=1)
    assert f"error: selftest job {job['id'] + 1} failed: RuntimeError: asked to fail at step 2" in failed.stderr
    shown = json.loads(cli("jobs", "show", str(job["id"] + 1), "--json").stdout)
    assert shown["state"] == "failed" and shown["progress"]["done"] == 1


def test_a_postgresql_store_from_the_environment_or_the_option(cli: Run, env: dict[str, str], workspace: Path,
                                                                pg_cluster: Any) -> None:
    """A team's PostgreSQL registry: `postgresql://` (psycopg 3) with a password, from
    JUPYTER_MLOPS_DB_URL or --db-url; the password is never printed, no SQLite file is made,
    and an inline job runs against that store."""
    url = make_url(pg_cluster.database(migrated=False)).set(password="s3cret-pw")  # trust auth ignores it
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    env["JUPYTER_MLOPS_DB_URL"] = plain
    made = cli("models", "create", "team-model", "--storage-path", "/team", "--json")
    assert json.loads(made.stdout)["name"] == "team-model"
    listed = cli("models", "list", "--json")
    assert [m["name"] for m in json.loads(listed.stdout)["items"]] == ["team-model"]
    assert json.loads(listed.stdout)["workspace"]["store"] == plain.replace("s3cret-pw", "***")
    job = json.loads(cli("jobs", "selftest", "--n", "2", "--delay", "0.01", "--json").stdout)
    assert job["state"] == "succeeded" and job["owner"] == "cli-user"
    del env["JUPYTER_MLOPS_DB_URL"]
    other = url.render_as_string(hide_password=False)
    shown = cli("--db-url", other, "models", "show", "team-model")
    assert "team-model" in shown.stdout
    assert all("s3cret-pw" not in p.stdout + p.stderr for p in (made, listed, shown))
    assert not (workspace / ".mlops" / "mlops.db").exists()


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


def test_outside_a_workspace_read_only_commands_leave_the_folder_empty(tmp_path: Path) -> None:
    """As git outside a repository: say so, say how to make or name one, create nothing."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=env, cwd=empty,
                              capture_output=True, text=True, timeout=120)

    for args in (("models", "list"), ("releases", "list"), ("jobs", "list"), ("audit",), ("dashboard",),
                 ("deployments", "list"), ("artifacts", "list"), ("builds", "list"), ("models", "--local"),
                 ("models", "create", "m1", "--storage-path", "/x")):
        proc = run(*args)
        assert proc.returncode == 1 and proc.stdout == "", (args, proc)
        assert proc.stderr.startswith(f"error: not in an MLOps workspace: no .mlops/ in {empty}"), proc.stderr
        assert "`jupyter mlops init` makes one here" in proc.stderr and "--workspace DIR" in proc.stderr
    assert list(empty.iterdir()) == []
    assert run("config").returncode == 0 and list(empty.iterdir()) == []  # needs no store

    made = run("init")
    assert made.returncode == 0 and f"initialized empty MLOps workspace in {empty}" in made.stdout
    assert (empty / ".mlops" / "mlops.db").is_file()
    assert "reinitialized existing" in run("init").stdout
    listed = run("models", "list")
    assert listed.returncode == 0 and listed.stdout.splitlines()[0] == "models (0)"
    assert listed.stderr == f"workspace {empty} (store sqlite:///{empty}/.mlops/mlops.db)\n"
    sub = empty / "deeper" / "still"
    sub.mkdir(parents=True)
    found = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "models", "list", "--json"], env=env, cwd=sub,
                           capture_output=True, text=True, timeout=120)
    assert json.loads(found.stdout)["workspace"]["path"] == str(empty)  # found upward, as git finds .git


def test_deployments_and_artifacts(cli: Run, workspace: Path) -> None:
    cli("models", "create", "m1", "--storage-path", "/data/m1")
    release = json.loads(cli("releases", "create", "m1", "1.0", "--quantization", "Q4_K_M", "--json").stdout)
    made = json.loads(cli("deployments", "create", str(release["id"]), "prod", "--endpoint", "http://10.0.0.5:8000",
                          "--json").stdout)
    assert (made["status"], made["model"], made["version"], made["quantization"]) == (
        "pending", "m1", "1.0", "gguf-q4_k_m")
    shown = cli("deployments", "update", str(made["id"]), "--status", "active").stdout
    assert f"updated deployment {made['id']}: m1 1.0 (gguf-q4_k_m) in prod, active" in shown
    listed = cli("deployments", "list", "--model", "m1", "--status", "active").stdout
    assert "deployments (1)" in listed and "http://10.0.0.5:8000" in listed
    assert "status: must be one of" in cli("deployments", "update", str(made["id"]), "--status", "up", expect=1).stderr

    artifact = json.loads(cli("artifacts", "create", "model.gguf", "/data/m1/model.gguf", "--release",
                              str(release["id"]), "--kind", "weights", "--size", "123", "--json").stdout)
    assert (artifact["kind"], artifact["size"], artifact["release_id"]) == ("weights", 123, release["id"])
    card = json.loads(cli("artifacts", "create", "card.md", "/data/m1/README.md", "--model", "m1", "--json").stdout)
    assert card["release_id"] is None and card["kind"] == "file"
    assert "artifacts (2)" in cli("artifacts", "list", "--model", "m1").stdout
    assert "artifacts (1)" in cli("artifacts", "list", "--release", str(release["id"])).stdout
    assert "name: must be a file name" in cli("artifacts", "create", "a/b", "/x", "--model", "m1", expect=1).stderr
    assert "forgot artifact" in cli("artifacts", "delete", str(card["id"])).stdout
    assert "forgot deployment" in cli("deployments", "delete", str(made["id"])).stdout
    with sqlite3.connect(workspace / ".mlops" / "mlops.db") as conn:
        actions = conn.execute("select entity_type, action, actor from audit_events where entity_type in "
                               "('deployment', 'artifact') order by id").fetchall()
    assert actions == [("deployment", "create", "cli-user"), ("deployment", "update", "cli-user"),
                       ("artifact", "create", "cli-user"), ("artifact", "create", "cli-user"),
                       ("artifact", "delete", "cli-user"), ("deployment", "delete", "cli-user")]


def test_a_failed_download_says_its_cause_in_one_line(cli: Run, env: dict[str, str]) -> None:
    from lab_support import free_port

    port = free_port()  # nothing listens: the Hub is unreachable, as offline
    env["JUPYTER_MLOPS_HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    failed = cli("download", "org/tiny", expect=1)
    assert "Traceback" not in failed.stderr + failed.stdout
    assert failed.stderr.splitlines()[-1] == (
        f"error: download job 1 failed: network failure talking to http://127.0.0.1:{port}: ConnectError: "
        "[Errno 111] Connection refused")
    assert len(failed.stderr.splitlines()) <= 3  # queued, (progress,) the error
    shown = cli("jobs", "show", "1").stdout
    assert re.search(rf"\n  place +{re.escape(socket.gethostname())}:{re.escape(str(Path(env['JUPYTER_MLOPS_WORKSPACE']).resolve()))}\n", shown), shown
    job = json.loads(cli("jobs", "show", "1", "--json").stdout)
    assert job["error"] == f"network failure talking to http://127.0.0.1:{port}: ConnectError: [Errno 111] " \
                           "Connection refused"
    lines = json.loads(cli("jobs", "log", "1", "--json").stdout)["lines"]
    trace = [ln["line"] for ln in lines if ln["stream"] == "trace"]
    assert trace[0] == "Traceback (most recent call last):" and trace[-1].startswith(
        "jupyter_mlops.errors.Unavailable: network failure talking to")
