"""S3 for the tests: the run's `rclone serve s3` on 127.0.0.1 (tests/services.sh starts it and
exports JUPYTER_MLOPS_TEST_S3_*; without them a private one is started here), a slow twin
for cancel and kill tests, a fresh bucket per test, the credentials in the AWS variables
every process reads, and moto's standalone server with IAM on for access-denied cases."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


@dataclass
class S3Server:
    """One S3-compatible server: where, with which keys, and the folder holding its buckets (rclone)."""

    endpoint: str
    key: str
    secret: str
    data: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def client(self, key: str | None = None, secret: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=key or self.key,
            aws_secret_access_key=secret or self.secret, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the S3 server exited with {proc.returncode}"
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # any answer means it serves
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(url)


def start_rclone(folder: Path, *extra: str) -> S3Server:
    """`rclone serve s3` of `folder` on a free port of 127.0.0.1, with a random secret."""
    rclone = shutil.which("rclone") or str(BIN / "rclone")
    key, secret = "mlops-test", uuid.uuid4().hex
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder.parent / f"rclone-{port}.log", "wb")
    proc = subprocess.Popen(
        [rclone, "serve", "s3", str(folder), "--addr", f"127.0.0.1:{port}", "--config", "/dev/null",
         "--log-level", "NOTICE", *extra],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RCLONE_AUTH_KEY": f'"{key},{secret}"'},
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    _wait_http(endpoint + "/", proc)
    return S3Server(endpoint, key, secret, folder, proc)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The run's S3 server."""
    endpoint = os.environ.get("JUPYTER_MLOPS_TEST_S3_ENDPOINT")
    if endpoint:
        data = os.environ.get("JUPYTER_MLOPS_TEST_S3_DIR")
        yield S3Server(endpoint, os.environ["JUPYTER_MLOPS_TEST_S3_KEY"], os.environ["JUPYTER_MLOPS_TEST_S3_SECRET"],
                       Path(data) if data else None)
        return
    server = start_rclone(tmp_path_factory.mktemp("s3") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slow_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3 server whose transfers are limited to 16 MB/s, so a test can act mid-transfer."""
    server = start_rclone(tmp_path_factory.mktemp("s3-slow") / "data", "--bwlimit", "16M")
    yield server
    server.stop()


def use_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str | None, secret: str | None) -> None:
    """The AWS chain of this process and every job it starts: these keys (none when None), and
    no shared files, profile or endpoint of the machine's."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookups on 169.254.169.254
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    if key is not None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    if secret is not None:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


@pytest.fixture
def s3_creds(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Server:
    """The run's S3 server, its keys in the AWS variables."""
    use_credentials(monkeypatch, tmp_path, s3_server.key, s3_server.secret)
    return s3_server


@pytest.fixture
def bucket(s3_creds: S3Server) -> str:
    """A new, empty bucket on the run's S3 server."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    s3_creds.client().create_bucket(Bucket=name)
    return name


@dataclass
class MotoServer(S3Server):
    """moto's standalone server with IAM enforced: `key`/`secret` may do anything, `reader` only read."""

    reader: tuple[str, str] = ("", "")
    nobody: tuple[str, str] = ("", "")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto_server on 127.0.0.1 with an admin and a read-only IAM user, then auth switched on."""
    import boto3

    folder = tmp_path_factory.mktemp("moto")
    port = free_port()
    log = open(folder / "moto.log", "wb")
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(folder)}, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    _wait_http(endpoint + "/moto-api/", proc)
    iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="x",
                       region_name="us-east-1")
    keys = {}
    # moto names a ListObjectsV2 call's action s3:ListObjectsV2 (AWS: s3:ListBucket): the reader gets both
    reader = ["s3:GetObject", "s3:ListBucket", "s3:ListObjectsV2"]
    for user, actions in (("admin", "*"), ("reader", reader), ("nobody", ["s3:GetObject"])):
        iam.create_user(UserName=user)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request).read()
    server = MotoServer(endpoint, *keys["admin"], proc=proc, reader=keys["reader"], nobody=keys["nobody"])
    yield server
    server.stop()


__all__ = ["MotoServer", "S3Server", "start_rclone", "use_credentials"]
