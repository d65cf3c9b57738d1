"""The one settings object (jupyter_mlops.config): precedence explicit argument > environment
variable > config files > default, where each value came from, the server's hand-down to
its kernels, and clear refusals of bad values. Real config files in temporary Jupyter
config dirs; environments are passed as dicts (no process state is touched)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlops.config import (
    NAMES,
    SERVER_SETTINGS_ENV,
    MLOpsSettings,
    Settings,
    load_settings,
    redact_url,
)
from jupyter_mlops.errors import InvalidInput


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    """A user config dir (highest priority), a system one, and a workspace with `.mlops/`."""
    found = {"user": tmp_path / "user", "system": tmp_path / "system", "ws": tmp_path / "ws"}
    for path in found.values():
        path.mkdir()
    (found["ws"] / ".mlops").mkdir()
    return found


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def load(dirs: dict[str, Path], environ: dict[str, str] | None = None, **explicit: object) -> Settings:
    return load_settings(explicit, environ=environ or {}, config_paths=[str(dirs["user"]), str(dirs["system"])],
                         cwd=dirs["ws"])


def test_defaults_name_their_source(dirs: dict[str, Path]) -> None:
    s = load(dirs)
    ws = dirs["ws"].resolve()
    assert s.workspace.root == ws  # the nearest folder with .mlops/
    assert s.workspace.db_url == f"sqlite:///{ws / '.mlops' / 'mlops.db'}"
    assert s.workspace.models_dir == ws / "models"
    assert s.protected_packages == () and s.hf_endpoint == "https://huggingface.co"
    assert s.docker_host == "unix:///var/run/docker.sock" and s.download_disk_margin == 1 << 30
    rows = {r["name"]: r for r in s.describe()}
    assert list(rows) == list(NAMES)
    assert rows["workspace_dir"]["source"].startswith("default")
    assert all(rows[n]["source"] == "default" for n in NAMES if n != "workspace_dir")
    assert all(rows[n]["help"] for n in NAMES)  # every setting says what it is


def test_precedence_argument_over_environment_over_files_over_default(dirs: dict[str, Path]) -> None:
    user_file = write(dirs["user"] / "jupyter_server_config.json",
                      {"MLOpsApp": {"hf_endpoint": "http://file.example", "download_disk_margin": 7,
                                    "protected_packages": ["alpha"]}})
    s = load(dirs)
    assert (s.hf_endpoint, s.download_disk_margin, s.protected_packages) == ("http://file.example", 7, ("alpha",))
    assert s.origins["hf_endpoint"] == f"file {user_file}"

    env = {"HF_ENDPOINT": "http://env.example", "JUPYTER_MLOPS_PROTECTED_PACKAGES": "alpha, flash-attn"}
    s = load(dirs, env)
    assert s.hf_endpoint == "http://env.example" and s.origins["hf_endpoint"] == "environment HF_ENDPOINT"
    assert s.protected_packages == ("alpha", "flash-attn")
    assert s.download_disk_margin == 7 and s.origins["download_disk_margin"] == f"file {user_file}"

    s = load(dirs, env, hf_endpoint="http://arg.example")
    assert s.hf_endpoint == "http://arg.example" and s.origins["hf_endpoint"] == "argument"

    # the project's own variable wins over the Hugging Face one
    s = load(dirs, {**env, "JUPYTER_MLOPS_HF_ENDPOINT": "http://ours.example"})
    assert s.origins["hf_endpoint"] == "environment JUPYTER_MLOPS_HF_ENDPOINT"


def test_config_files_merge_as_the_server_merges_them(dirs: dict[str, Path]) -> None:
    """The user's dir beats the system dir; jupyter_server_config beats jupyter_config; a
    .py file may extend a list; the workspace's own file beats Jupyter's files."""
    write(dirs["system"] / "jupyter_server_config.json",
          {"MLOpsApp": {"docker_host": "tcp://system:2375", "max_jobs": 5, "models_dir": "system-models"}})
    user_base = write(dirs["user"] / "jupyter_config.json", {"MLOpsApp": {"max_jobs": 9, "run_worker": False}})
    user_py = write(dirs["user"] / "jupyter_server_config.py",
                    "c.MLOpsApp.docker_host = 'tcp://user:2375'\n"
                    "c.MLOpsApp.protected_packages.extend(['flash-attn', 'bitsandbytes'])\n")
    ws_file = write(dirs["ws"] / ".mlops" / "config.json", {"MLOpsApp": {"models_dir": "cache"}})
    s = load(dirs)
    assert s.docker_host == "tcp://user:2375" and s.origins["docker_host"] == f"file {user_py}"
    assert s.max_jobs == 5  # the system's jupyter_server_config beats the user's jupyter_config
    assert s.run_worker is False and s.origins["run_worker"] == f"file {user_base}"
    assert s.protected_packages == ("flash-attn", "bitsandbytes")
    assert s.workspace.models_dir == dirs["ws"].resolve() / "cache"  # relative to the workspace
    assert s.origins["models_dir"] == f"file {ws_file}"
    s = load(dirs, {"JUPYTER_MLOPS_MODELS_DIR": "/tmp/env-models"})
    assert s.workspace.models_dir == Path("/tmp/env-models") and s.origins["models_dir"].startswith("environment")


def test_workspace_setting_moves_the_store_and_the_cache(dirs: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(dirs["user"] / "jupyter_server_config.json", {"MLOpsApp": {"workspace_dir": str(other)}})
    s = load(dirs)
    assert s.workspace.root == other.resolve()
    assert s.workspace.db_url == f"sqlite:///{other.resolve() / '.mlops' / 'mlops.db'}"
    s = load(dirs, {"JUPYTER_MLOPS_WORKSPACE": str(dirs["ws"])}, db_url="sqlite:////tmp/x.db")
    assert s.workspace.root == dirs["ws"].resolve() and s.workspace.db_url == "sqlite:////tmp/x.db"
    assert s.origins["workspace_dir"] == "environment JUPYTER_MLOPS_WORKSPACE" and s.origins["db_url"] == "argument"


def test_server_hand_down_stands_for_the_server_in_its_kernels(dirs: dict[str, Path]) -> None:
    """A kernel the server started sees the server's effective settings (with their origins),
    above its own files; a variable set or changed in the kernel since still wins."""
    write(dirs["user"] / "jupyter_server_config.json", {"MLOpsApp": {"max_jobs": 4}})
    server = Settings.of(dirs["ws"], hf_endpoint="http://server-cli.example", max_jobs=3,
                         protected_packages=["alpha"])
    server_env = {"HF_ENDPOINT": "http://server-env.example", "DOCKER_HOST": "tcp://d:1"}
    handed = server.handed_down(server_env)
    kernel_env = {**server_env, SERVER_SETTINGS_ENV: handed}
    s = load(dirs, kernel_env)
    assert s.hf_endpoint == "http://server-cli.example" and s.origins["hf_endpoint"] == "server (argument)"
    assert s.max_jobs == 3 and s.protected_packages == ("alpha",)
    assert s.docker_host == server.docker_host  # DOCKER_HOST unchanged since the server saw it
    s = load(dirs, {**kernel_env, "HF_ENDPOINT": "http://kernel.example"})
    assert s.hf_endpoint == "http://kernel.example" and s.origins["hf_endpoint"] == "environment HF_ENDPOINT"
    s = load(dirs, kernel_env, hf_endpoint="http://arg.example")
    assert s.hf_endpoint == "http://arg.example"
    with pytest.raises(InvalidInput, match=SERVER_SETTINGS_ENV):
        load(dirs, {SERVER_SETTINGS_ENV: "{not json"})


@pytest.mark.parametrize(("where", "name", "value", "rule"), [
    ("file", "download_disk_margin", -3, "must be at least 0 (got -3)"),
    ("file", "max_jobs", "two", "must be a whole number (got 'two')"),
    ("file", "hf_endpoint", "ftp://hub", "must be an http:// or https:// URL"),
    ("file", "docker_host", "/var/run/docker.sock", "must start with one of unix://"),
    ("file", "build_base_images", {"gpu": "x:1"}, "keys must be rocm, cuda, cpu (got 'gpu')"),
    ("file", "protected_packages", ["ok", "rm -rf"], "must be distribution names or globs"),
    ("file", "db_url", "registry.db", "must be a SQLAlchemy URL"),
    ("env", "max_jobs", "x", "must be a whole number (got 'x')"),
    ("env", "run_worker", "maybe", "must be true or false (got 'maybe')"),
    ("env", "build_base_images", "rocm", "give a JSON object or KEY=VALUE pairs"),
    ("argument", "max_jobs", 0, "must be at least 1 (got 0)"),
])
def test_bad_values_name_the_setting_the_rule_and_the_source(
        dirs: dict[str, Path], where: str, name: str, value: object, rule: str) -> None:
    env: dict[str, str] = {}
    explicit: dict[str, object] = {}
    if where == "file":
        path = write(dirs["user"] / "jupyter_server_config.json", {"MLOpsApp": {name: value}})
        source = f"file {path}"
    elif where == "env":
        var = MLOpsSettings.class_traits()[name].metadata["env"][0]
        env[var], source = str(value), f"environment {var}"
    else:
        explicit[name], source = value, "argument"
    with pytest.raises(InvalidInput) as caught:
        load(dirs, env, **explicit)
    assert caught.value.field == name
    assert caught.value.message.startswith(f"{name}: ") and rule in caught.value.message
    assert source in caught.value.message


def test_unreadable_files_and_unknown_names_are_refused(dirs: dict[str, Path]) -> None:
    broken = write(dirs["user"] / "jupyter_server_config.json", "{not json")
    with pytest.raises(InvalidInput, match=f"cannot read {broken}"):
        load(dirs)
    broken.unlink()
    write(dirs["ws"] / ".mlops" / "config.json", {"MLOpsApp": {"workspace_dir": "/elsewhere"}})
    with pytest.raises(InvalidInput, match="workspace_dir: cannot be set in the workspace's own"):
        load(dirs)
    with pytest.raises(InvalidInput, match="nope: not a setting"):
        load(dirs, nope=1)


def test_secrets_are_never_shown() -> None:
    assert redact_url("postgresql+psycopg://ada:s3cret@db:5432/reg") == "postgresql+psycopg://ada:***@db:5432/reg"
    assert redact_url("postgresql://db/reg?user=ada&password=s3cret&sslmode=require") == \
        "postgresql://db/reg?user=ada&password=***&sslmode=require"
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    s = Settings.of("/tmp", db_url="postgresql+psycopg://ada:s3cret@db/reg")
    assert "s3cret" not in json.dumps(s.describe())
    assert s.value("db_url").endswith("ada:s3cret@db/reg")  # the store itself gets the real URL


def test_equal_values_are_one_key_whatever_their_origin(dirs: dict[str, Path]) -> None:
    a = load(dirs, hf_endpoint="http://x.example")
    b = load(dirs, {"HF_ENDPOINT": "http://x.example/"})
    assert a.origins != b.origins and a.key() == b.key()
