"""`%mlops` in a real in-process IPython shell against a temporary workspace."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import text

from jupyter_mlops.cli import Result
from jupyter_mlops import services as services_mod
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.store import engine as store_engine
from magic_support import magic_fails


def _forget_services() -> None:
    for svc in services_mod._cache.values():
        svc.store.dispose()
        store_engine._stores.pop(svc.store.url, None)
    services_mod._cache.clear()


@pytest.fixture
def shell(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The IPython shell with the extension loaded, pointed at `workspace` by the environment."""
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(workspace))
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.delenv("JUPYTER_MLOPS_DB_URL", raising=False)
    monkeypatch.delenv("JUPYTER_MLOPS_MODELS_DIR", raising=False)
    _forget_services()
    sh = InteractiveShell.instance()
    # The shell is one per process: load the extension afresh, as a new kernel would,
    # whatever another test registered on it before.
    sh.extension_manager.loaded.discard("jupyter_mlops")
    sh.run_line_magic("load_ext", "jupyter_mlops")
    yield sh
    _forget_services()


def db(workspace: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to the workspace's store (independent of the services)."""
    return sqlite3.connect(workspace / ".mlops" / "mlops.db")


def mlops(sh: InteractiveShell, line: str) -> Any:
    return sh.run_line_magic("mlops", line)


def test_create_list_show_promote_and_audit(shell: InteractiveShell, workspace: Path) -> None:
    made = mlops(shell, "models create llama-ft --storage-path hf://acme/llama-ft --base-model llama-3 "
                        "--parameter-count 8B --tag chat --tag demo --metadata '{\"ctx\": 8192}'")
    assert isinstance(made, Result)
    assert made["name"] == "llama-ft" and made["parameter_count"] == 8_000_000_000
    assert made["tags"] == ["chat", "demo"] and made["metadata"] == {"ctx": 8192}

    rel = mlops(shell, "releases create llama-ft 1.0.0 --quantization INT8 --notes 'first cut'")
    assert rel["status"] == "candidate" and rel["quantization"] == "int8"
    rid = rel["id"]

    listed = mlops(shell, "models list --q llama")
    assert [m["name"] for m in listed["items"]] == ["llama-ft"]
    page = listed._repr_html_()
    assert "<table>" in page and "llama-ft" in page and "hf://acme/llama-ft" in page
    assert "llama-ft" in repr(listed)  # the plain-text fallback

    # IPython's `{expr}` expansion works in the line.
    shell.user_ns["rid"] = rid
    promoted = mlops(shell, "promote {rid}")
    assert promoted["status"] == "released"
    assert mlops(shell, f"releases show {rid}")["status"] == "released"
    with db(workspace) as conn:
        assert conn.execute("select status from releases where id=?", (rid,)).fetchone() == ("released",)

    audit = mlops(shell, "audit --model llama-ft")
    assert [e["action"] for e in audit["items"]] == ["promote", "create", "create"]
    assert {e["actor"] for e in audit["items"]} == {"alice"}  # identity.current_actor()


def test_bad_input_prints_one_line_and_changes_nothing(shell: InteractiveShell, workspace: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    mlops(shell, "models create m1 --storage-path /data/m1")
    capsys.readouterr()
    with db(workspace) as conn:
        before = conn.execute("select count(*) from releases").fetchone()[0]
        audit_before = conn.execute("select count(*) from audit_events").fetchone()[0]

    assert magic_fails(shell, "releases create m1 not-a-version").startswith("version: must be a version")
    assert "name: must start with a letter or digit" in magic_fails(shell, "models create 'bad name' --storage-path /x")
    assert "metadata: must be valid JSON" in magic_fails(shell, "models create m2 --storage-path /x --metadata '{oops'")
    assert "model 'nope' does not exist" in magic_fails(shell, "models show nope")

    with db(workspace) as conn:
        assert conn.execute("select count(*) from releases").fetchone()[0] == before
        assert conn.execute("select count(*) from audit_events").fetchone()[0] == audit_before
        assert conn.execute("select name from models").fetchall() == [("m1",)]


def test_usage_errors_and_help_do_not_exit(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    err = magic_fails(shell, "models create m1")  # missing --storage-path: argparse would exit
    assert "required: --storage-path" in err and "%mlops models create --help" in err
    assert "argument ID: must be a whole number" in magic_fails(shell, "promote abc")
    assert "invalid choice: 'frobnicate'" in magic_fails(shell, "frobnicate")
    assert "cannot split the line" in magic_fails(shell, "models show 'unbalanced")

    assert mlops(shell, "--help") is None
    out = capsys.readouterr().out
    assert out.startswith("usage: %mlops") and "releases" in out and "jobs" in out

    assert mlops(shell, "models --help") is None
    out = capsys.readouterr().out
    assert "usage: %mlops models" in out and "create" in out and "delete" in out

    assert mlops(shell, "releases create --help") is None
    assert "--quantization" in capsys.readouterr().out

    assert mlops(shell, "") is None  # a bare %mlops shows the help
    assert "usage: %mlops" in capsys.readouterr().out

    # The shell survived every one of these.
    assert "has no registry yet" in magic_fails(shell, "models list")  # and a read-only command made no store
    assert mlops(shell, "init").title.startswith("initialized empty MLOps workspace in ")
    assert mlops(shell, "models list")["items"] == []


def test_cell_magic_body_adds_fields(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    made = shell.run_cell_magic("mlops", "models create m1",
                                '{"storage_path": "s3://bucket/m1", "metadata": {"team": "nlp"}}')
    assert made["storage_path"] == "s3://bucket/m1" and made["metadata"] == {"team": "nlp"}
    rel = shell.run_cell_magic("mlops", "releases create m1 2.0 --notes line-wins",
                               '{"release_notes": "body", "auto_build": true}')
    assert rel["release_notes"] == "line-wins" and rel["auto_build"] is True

    assert "colour: unknown field" in magic_fails(shell, "releases create m1 2.1", '{"colour": "red"}')
    assert "takes no JSON body" in magic_fails(shell, "models list", '{"q": "m"}')


def test_json_option_and_workspace_option(shell: InteractiveShell, tmp_path: Path) -> None:
    other = tmp_path / "other"
    made = mlops(shell, f"--workspace {other} models create elsewhere --storage-path /x --json")
    assert made.as_json and '"name": "elsewhere"' in repr(made)
    assert (other / ".mlops" / "mlops.db").is_file()
    assert "has no registry yet" in magic_fails(shell, "models list")  # the env workspace is untouched
    assert [m["name"] for m in mlops(shell, f"models list --workspace {other}")["items"]] == ["elsewhere"]


def test_selftest_inline_shows_progress(shell: InteractiveShell, workspace: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    result = mlops(shell, "jobs selftest --n 6 --delay 0.1")
    out = capsys.readouterr().out
    assert result["state"] == "succeeded" and result["result"] == {"counted": 6}
    assert "run inline" in result.title
    # Text fallback (no kernel here): a bar redrawn with \r, ending at 6/6.
    assert "\r[" in out and "succeeded: 6/6 steps" in out and "running" in out
    with db(workspace) as conn:
        assert conn.execute("select state, owner, log_count from jobs").fetchall() == [("succeeded", "alice", 6)]
    log = mlops(shell, f"jobs log {result['id']} --after 4")
    assert [line["line"] for line in log["lines"]] == ["step 5 of 6", "step 6 of 6"]
    assert mlops(shell, "jobs list --state succeeded")["items"][0]["id"] == result["id"]
    assert "already succeeded" in magic_fails(shell, f"jobs cancel {result['id']}")


def test_selftest_waits_on_a_live_worker(shell: InteractiveShell) -> None:
    svc = services_mod.services_for()
    worker = Worker(svc.store, scratch=svc.workspace.state_dir, place=svc.jobs.place)
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if svc.jobs.has_live_worker():
                break
            threading.Event().wait(0.05)
        assert svc.jobs.has_live_worker()
        result = mlops(shell, "jobs selftest --n 3 --delay 0.05 --timeout 60")
    finally:
        worker.stop()
        thread.join(timeout=10)
    assert result is not None and result["state"] == "succeeded"
    assert "server's worker" in result.title


def test_deployments_and_artifacts(shell: InteractiveShell, workspace: Path) -> None:
    mlops(shell, "models create m1 --storage-path /data/m1")
    rel = mlops(shell, "releases create m1 1.0 --quantization exl2_4.0bpw")
    assert rel["quantization"] == "exl2-4.0bpw"
    shell.user_ns["rid"] = rel["id"]
    dep = mlops(shell, "deployments create {rid} staging --endpoint http://127.0.0.1:8000/v1")
    assert dep.title == f"recorded deployment {dep['id']}: m1 1.0 (exl2-4.0bpw) in staging, pending"
    shell.user_ns["dep"] = dep.data
    assert mlops(shell, "deployments update {dep['id']} --status active")["status"] == "active"
    page = mlops(shell, "deployments list --environment staging")
    assert [d["id"] for d in page["items"]] == [dep["id"]] and "staging" in page.html()
    art = shell.run_cell_magic("mlops", "artifacts create tokenizer.json /data/m1/tokenizer.json --release {rid}",
                               '{"kind": "tokenizer", "size": 2048}')
    assert (art["kind"], art["size"]) == ("tokenizer", 2048)
    assert "status: must be one of pending, active, failed, retired" in magic_fails(
        shell, "deployments update {dep['id']} --status live")
    assert "release 99 does not exist" in magic_fails(shell, "deployments create 99 prod")
    with db(workspace) as conn:
        assert conn.execute("select environment, status from deployments").fetchall() == [("staging", "active")]
        assert conn.execute("select name, kind from artifacts").fetchall() == [("tokenizer.json", "tokenizer")]


def test_a_postgresql_store_from_the_kernels_environment(shell: InteractiveShell, workspace: Path,
                                                         monkeypatch: pytest.MonkeyPatch, pg_cluster: Any) -> None:
    """`%mlops` in a kernel whose JUPYTER_MLOPS_DB_URL names a PostgreSQL database: models
    and an inline job land there, and no SQLite file is made."""
    url = pg_cluster.database()
    monkeypatch.setenv("JUPYTER_MLOPS_DB_URL", url)
    _forget_services()
    made = mlops(shell, "models create pg-model --storage-path /data/pg")
    assert made["name"] == "pg-model"
    assert [m["name"] for m in mlops(shell, "models list")["items"]] == ["pg-model"]
    job = mlops(shell, "jobs selftest --n 2 --delay 0.01")
    assert job["state"] == "succeeded" and job["owner"] == "alice"
    from jupyter_mlops.store import Store

    other = Store(url)  # a fresh engine on the same database, not the magic's
    try:
        with other.read() as s:
            assert s.scalar(text("SELECT name FROM models")) == "pg-model"
    finally:
        other.dispose()
    assert not (workspace / ".mlops" / "mlops.db").exists()
