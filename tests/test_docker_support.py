"""The test Docker daemon, registry and base image work as the build tests assume."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from deps_support import build_wheel
from docker_support import run_container as run


def test_base_image_has_a_shell_python_and_pip(docker_api: Any, base_image: str) -> None:
    code, out = run(docker_api, base_image, ["sh", "-c", "echo hi && python -m pip --version && python -c 'import ssl, sqlite3, hashlib'"])
    assert code == 0, out
    assert out.startswith("hi\npip ")


def test_base_image_installs_a_wheel_offline(docker_api: Any, base_image: str, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "tinypkg", "0.1", files={"tinypkg/__init__.py": "VALUE = 42\n"})
    (tmp_path / "Dockerfile").write_text(
        f"FROM {base_image}\nCOPY {wheel.name} /tmp/\n"
        f"RUN python -m pip install --no-index --no-cache-dir /tmp/{wheel.name}\n"
        'CMD ["python", "-c", "import tinypkg; print(tinypkg.VALUE)"]\n')
    chunks = list(docker_api.build(path=str(tmp_path), tag="support/wheel:1", decode=True, rm=True))
    assert not [c for c in chunks if "error" in c], chunks
    try:
        assert run(docker_api, "support/wheel:1", []) == (0, "42\n")
    finally:
        docker_api.remove_image("support/wheel:1", force=True)


def test_registry_takes_a_push(docker_api: Any, base_image: str, registry_addr: str) -> None:
    reference = f"{registry_addr}/support/base"
    docker_api.tag(base_image, reference, "v1")
    try:
        chunks = list(docker_api.push(reference, tag="v1", stream=True, decode=True))
        assert not [c for c in chunks if "error" in c], chunks
        assert any("Digest" in c.get("aux", {}) for c in chunks)
    finally:
        docker_api.remove_image(f"{reference}:v1")
