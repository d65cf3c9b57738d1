"""Model storage's faces through real parts: REST on a real Jupyter server whose worker runs
the jobs in subprocesses, `jupyter mlops storage ...` as subprocesses, and `%mlops storage`
in an IPython shell; every transfer goes to the run's S3 server (`rclone serve s3`)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from magic_support import magic_fails
from rest_support import ok, wait_job
from s3_support import S3Server

from jupyter_mlops import services as services_mod
from jupyter_mlops.store import engine as store_engine


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], s3_creds: S3Server) -> dict[str, Any]:
    """The server's S3 is the run's server, path-style; its credentials are in the AWS variables."""
    return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"], "s3_endpoint_url": s3_creds.endpoint,
                                             "s3_addressing_style": "path", "download_disk_margin": 0}}


def folder(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


FILES = {"config.json": b'{"model_type": "tiny"}', "model.safetensors": os.urandom(3 << 20)}


@pytest.mark.timeout(120)
async def test_rest_publish_scan_fetch_and_list(api: Any, jp_root_dir: Path, bucket: str, s3_creds: S3Server) -> None:
    folder(jp_root_dir / "src" / "tiny", FILES)
    code, job = await api("POST", "storage/publishes", {"source": "src/tiny", "destination": f"s3://{bucket}/tiny",
                                                         "model": "tiny"})
    assert code == 201 and job["kind"] == "storage.publish", job
    done = await wait_job(api, job["id"], timeout=60)
    assert done["state"] == "succeeded", done
    assert done["progress"]["unit"] == "B"
    model = await ok(api, "GET", "models/tiny")
    assert model["storage_path"] == f"s3://{bucket}/tiny"
    assert model["stored"] == {"files": 2, "bytes": sum(map(len, FILES.values()))}
    listed = await ok(api, "GET", "models")
    assert listed["items"][0]["stored"]["files"] == 2
    objects = await ok(api, "GET", "storage/objects", uri=f"s3://{bucket}/tiny")
    assert {o["key"]: o["size"] for o in objects["items"]} == {f"tiny/{k}": len(v) for k, v in FILES.items()}
    assert objects["files"] == 2 and objects["truncated"] is False
    s3_creds.client().put_object(Bucket=bucket, Key="tiny/README.md", Body=b"# tiny")
    code, scan = await api("POST", "storage/scans", {"model": "tiny"})
    assert code == 201, scan
    scanned = await wait_job(api, scan["id"], timeout=60)
    assert scanned["state"] == "succeeded" and scanned["result"]["added"] == ["README.md"], scanned
    arts = await ok(api, "GET", "artifacts", model="tiny")
    by_name = {a["name"]: a for a in arts["items"]}
    assert by_name["model.safetensors"]["sha256"] == hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    code, fetch = await api("POST", "storage/fetches", {"uri": f"s3://{bucket}/tiny"})
    assert code == 201, fetch
    fetched = await wait_job(api, fetch["id"], timeout=60)
    assert fetched["state"] == "succeeded" and fetched["result"]["files"] == 3, fetched
    # bad input: the field and the rule, nothing queued
    code, bad = await api("POST", "storage/publishes", {"source": "src/tiny", "destination": "s3://A/x"})
    assert code == 400 and bad["field"] == "destination", bad
    code, bad = await api("POST", "storage/scans", {"model": "nope"})
    assert code == 404, bad
    code, bad = await api("GET", "storage/objects", uri="/etc")
    assert code == 400 and bad["field"] == "uri", bad
    code, bad = await api("POST", "storage/publishes", {"source": "/etc", "destination": f"s3://{bucket}/etc"})
    assert code == 403 and bad["field"] == "source", bad
    code, missing = await api("POST", "storage/fetches", {"uri": "s3://no-such-bucket/x"})
    assert code == 404 and "no-such-bucket" in missing["message"], missing


def _cli_env(workspace: Path, server: S3Server) -> dict[str, str]:
    return {**os.environ, "JUPYTER_MLOPS_WORKSPACE": str(workspace), "JUPYTER_MLOPS_S3_ENDPOINT_URL": server.endpoint,
            "JUPYTER_MLOPS_S3_ADDRESSING_STYLE": "path", "JUPYTER_MLOPS_DOWNLOAD_DISK_MARGIN": "0"}


@pytest.mark.timeout(180)
def test_cli_publish_ls_scan_fetch(workspace: Path, bucket: str, s3_creds: S3Server, tmp_path: Path) -> None:
    env = _cli_env(workspace, s3_creds)
    folder(workspace / "src" / "tiny", FILES)

    def cli(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=env, cwd=workspace,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    cli("init", str(workspace))
    got = cli("storage", "publish", "src/tiny", "--to", f"s3://{bucket}/tiny", "--model", "tiny")
    assert "publish done" in got.stdout and "created" in got.stdout, got.stdout
    assert "MiB" in got.stderr  # the progress line
    listed = cli("models", "list")
    assert f"s3://{bucket}/tiny (2 files, 3.0 MiB)" in listed.stdout.replace("\n", " ") or "2 files" in listed.stdout
    ls = cli("storage", "ls", f"s3://{bucket}/tiny")
    assert "2 objects" in ls.stdout and "tiny/model.safetensors" in ls.stdout
    scan = json.loads(cli("storage", "scan", "tiny", "--json").stdout)
    assert scan["result"]["unchanged"] == 2 and scan["result"]["hashed_files"] == 0
    fetch = cli("storage", "fetch", f"s3://{bucket}/tiny")
    assert "fetch done" in fetch.stdout
    bad = cli("storage", "publish", "src/tiny", "--to", "gs://x", expect=1)
    assert bad.stderr.startswith("error: destination:"), bad.stderr
    wrong = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "storage", "ls", f"s3://{bucket}/tiny"],
                           env={**env, "AWS_SECRET_ACCESS_KEY": "wrong"}, cwd=workspace, capture_output=True,
                           text=True, timeout=60, check=False)
    assert wrong.returncode == 1 and "refused the credentials" in wrong.stderr and "wrong" not in wrong.stdout
    detached = cli("storage", "scan", "tiny", "--detach")
    assert "scan job" in detached.stdout and "queued; follow it with `jobs log" in detached.stdout, detached.stdout


@pytest.mark.timeout(180)
def test_magic_publish_and_scan(workspace: Path, bucket: str, s3_creds: S3Server, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    for name, value in _cli_env(workspace, s3_creds).items():
        if name.startswith("JUPYTER_MLOPS_"):
            monkeypatch.setenv(name, value)
    folder(workspace / "src" / "tiny", FILES)
    for svc in services_mod._cache.values():
        svc.store.dispose()
        store_engine._stores.pop(svc.store.url, None)
    services_mod._cache.clear()
    sh = InteractiveShell.instance()
    sh.extension_manager.loaded.discard("jupyter_mlops")
    sh.run_line_magic("load_ext", "jupyter_mlops")
    got = sh.run_line_magic("mlops", f"storage publish src/tiny --to s3://{bucket}/m --model m")
    out = capsys.readouterr()
    assert got is not None and got["state"] == "succeeded", out.err
    assert got["result"]["uploaded_files"] == 2
    scanned = sh.run_line_magic("mlops", "storage scan m")
    assert scanned["result"]["unchanged"] == 2
    assert "does not exist" in magic_fails(sh, "storage scan nope")
    services_mod._cache.clear()
