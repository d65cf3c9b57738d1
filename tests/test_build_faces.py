"""Image builds through their notebook and shell faces, on real parts: `%mlops build|builds`
in an IPython shell, `jupyter mlops build|builds` as subprocesses, and BuildPanel clicks.
Every build runs on the private Docker daemon and every push goes to the registry that
tests/services.sh starts (DOCKER_HOST, JUPYTER_MLOPS_TEST_REGISTRY); state is a real
SQLite file. No server runs here, so each face runs its job inline, as in a bare kernel."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docker_support import RUNNING, SLEEPY_RUN, log_text, run_container, wait_for
from magic_support import magic_fails
from store_support import assert_secret_nowhere

from jupyter_mlops import services as services_mod
from jupyter_mlops.jobs.worker import Worker
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine
from jupyter_mlops.config import Settings

SECRET = "faces-S3cret-registry-pa55"
PASSWORD_ENV = "JUPYTER_MLOPS_REGISTRY_PASSWORD"


@dataclass
class Shared:
    """A workspace with two releases (tiny:1.0, generated Dockerfile; sleepy:1.0, a custom
    Dockerfile whose RUN sleeps) and one finished build of tiny:1.0."""

    root: Path
    svc: Services
    build: dict[str, Any]


def add_releases(svc: Services, base_image: str) -> None:
    """tiny:1.0 (weights unique to this call, so its image is new to the daemon) and sleepy:1.0."""
    root = svc.workspace.root
    tiny = root / "models-src" / "tiny"
    tiny.mkdir(parents=True)
    (tiny / "config.json").write_text('{"model_type": "tiny"}')
    (tiny / "weights.bin").write_bytes(os.urandom(32 * 1024))
    sleepy = root / "models-src" / "sleepy"
    sleepy.mkdir(parents=True)
    (sleepy / "Dockerfile").write_text(f"FROM {base_image}\n{SLEEPY_RUN}")
    for name in ("tiny", "sleepy"):
        svc.registry.create_model({"name": name, "storage_path": f"models-src/{name}"}, "setup")
        svc.registry.create_release({"model": name, "version": "1.0"}, "setup")


def close(svc: Services) -> None:
    svc.store.dispose()
    store_engine._stores.pop(svc.store.url, None)


def forget_services() -> None:
    """Drop the services `%mlops` cached (a new kernel would start without them)."""
    for svc in services_mod._cache.values():
        close(svc)
    services_mod._cache.clear()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, docker_host: str, base_image: str) -> Iterator[Shared]:
    root = tmp_path_factory.mktemp("shared") / "workspace"
    root.mkdir()
    svc = Services(Settings.of(root, docker_host=docker_host))
    add_releases(svc, base_image)
    build = svc.builds.start({"release_id": svc.builds.release_id("tiny:1.0"), "base_image": base_image,
                              "tag": "faces/tiny:1.0"}, "setup")
    job = Worker(svc.store, place=svc.jobs.place).run_job(build["job_id"])
    assert job["state"] == "succeeded", job["error"]
    yield Shared(root, svc, svc.builds.get(build["id"]))
    close(svc)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, shared: Shared) -> Iterator[None]:
    """The shared workspace for `%mlops` and the CLI, a known user, no password around."""
    monkeypatch.setenv("JUPYTER_MLOPS_WORKSPACE", str(shared.root))
    monkeypatch.setenv("JUPYTERHUB_USER", "face-user")
    for name in ("JUPYTER_MLOPS_DB_URL", "JUPYTER_MLOPS_MODELS_DIR", PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    forget_services()
    yield
    forget_services()


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the workers' heartbeats."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables if t != "workers"}


def db_row(root: Path, sql: str, *args: Any) -> tuple[Any, ...] | None:
    with closing(sqlite3.connect(f"file:{root / '.mlops' / 'mlops.db'}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, args).fetchone()




def sleeping_steps(docker_api: Any) -> list[dict[str, Any]]:
    """Containers still running the sleepy RUN step (the classic builder's intermediate containers)."""
    return [c for c in docker_api.containers() if "sleep 300" in c.get("Command", "")]


def pull_back(docker_api: Any, reference: str, digest: str) -> str:
    """Forget the local tag, pull `reference` by digest from the registry; the pulled image id."""
    docker_api.remove_image(reference)
    repo = reference.rsplit(":", 1)[0]
    chunks = list(docker_api.pull(repo, tag=digest, stream=True, decode=True))
    assert not [c for c in chunks if "error" in c], chunks
    return str(docker_api.inspect_image(f"{repo}@{digest}")["Id"])


def secret_nowhere(root: Path) -> None:
    """No file under the workspace's .mlops holds the password."""
    assert_secret_nowhere(root / ".mlops", SECRET)


class Stamped:
    """A stdout that keeps when each piece was written (to tell a live log from one printed at the end)."""

    def __init__(self) -> None:
        self.parts: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.parts.append((time.monotonic(), text))
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(t for _, t in self.parts)

    def when(self, needle: str) -> float:
        return next(at for at, t in self.parts if needle in t)


def shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.extension_manager.loaded.discard("jupyter_mlops")  # afresh, as in a new kernel
    sh.run_line_magic("load_ext", "jupyter_mlops")
    return sh


# -- %mlops ----------------------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_magic_build_prints_the_log_live_and_ends_with_the_image(
        shared: Shared, docker_api: Any, base_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sh = shell()
    out = Stamped()
    monkeypatch.setattr(sys, "stdout", out)
    # --no-cache: a real build of an image the daemon has (no reuse); the run check
    # sleeps after the build, so a live log shows "Successfully built" well before the end
    got = sh.run_line_magic("mlops", f"build tiny:1.0 --base-image {base_image} --tag faces/tiny:magic --no-cache "
                                     "--build-arg GREETING=hello --run-check \"sh -c 'sleep 2; echo checked'\"")
    ended = time.monotonic()
    text = out.text()
    assert got is not None, text
    assert got["state"] == "succeeded" and got["tag"] == "faces/tiny:magic" and got["reused"] is False
    lines = text.splitlines()
    assert lines[0].startswith(f"build {got['id']}: tiny:1.0:none -> faces/tiny:magic (generated Dockerfile")
    assert "Step 1/" in text and "Successfully tagged faces/tiny:magic" in text
    assert "run check: exited 0" in text
    assert ended - out.when("Successfully built") > 1.5, "the log was printed at the end, not as it came"
    short = got["image_id"].split(":")[1][:12]
    assert got.title.startswith(f"built faces/tiny:magic (image {short}, build {got['id']}, run inline)")
    assert got.record["run check"] == "sh -c 'sleep 2; echo checked': exited 0"
    assert "faces/tiny:magic" in got.html() and got.text().splitlines()[0] == got.title
    # the image is in the daemon with the build's labels; the row says what was built
    image = docker_api.inspect_image("faces/tiny:magic")
    assert image["Id"] == got["image_id"] and image["Config"]["Labels"]["jupyter-mlops.model"] == "tiny"
    assert run_container(docker_api, "faces/tiny:magic", ["sh", "-c", "ls /opt/model"]) == (
        0, "config.json\nweights.bin\n")
    assert db_row(shared.root, "select tag, image_id, created_by from builds where id = ?", got["id"]) == (
        "faces/tiny:magic", got["image_id"], "face-user")
    assert got["options"]["build_args"] == {"GREETING": "hello"} and got["options"]["no_cache"] is True

    # builds list / show / log from the same shell
    listed = sh.run_line_magic("mlops", "builds list --model tiny")
    assert [b["id"] for b in listed.data["items"]][:2] == [got["id"], shared.build["id"]]
    assert listed.rows[0]["release"] == "tiny:1.0:none" and listed.rows[0]["image"] == short
    assert "faces/tiny:magic" in listed.html()
    shown = sh.run_line_magic("mlops", f"builds show {got['id']}")
    assert shown.title == f"build {got['id']} (tiny:1.0:none as faces/tiny:magic): succeeded"
    assert shown.record["base image"] == base_image and shown.record["dockerfile"] == "generated"
    log = sh.run_line_magic("mlops", f"builds log {got['id']} --limit 500")
    assert any("Successfully built" in r["line"] for r in log.rows)
    assert [r["line"] for r in log.rows] == [line for line in text.splitlines()[:len(log.rows)]]


@pytest.mark.timeout(120)
def test_magic_build_push_pulls_back_by_digest_and_keeps_the_password_out(
        shared: Shared, docker_api: Any, base_image: str, registry_addr: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    sh = shell()
    got = sh.run_line_magic("mlops", f"build tiny:1.0 --base-image {base_image} --tag faces/tiny:push "
                                     f"--push {registry_addr} --repository team/tiny --push-tag v1 --username ada")
    out = capsys.readouterr()
    assert got is not None, out.err
    (push,) = got["pushes"]
    reference = f"{registry_addr}/team/tiny:v1"
    assert push["reference"] == reference and push["state"] == "succeeded" and push["digest"].startswith("sha256:")
    assert got.title.endswith(f"; pushed {reference}@{push['digest']}")
    assert got["reused"] is True  # same content as the shared build: the image was reused, then pushed
    assert f"pushing {got['image_id']} as {reference}" in out.out and f"digest: {push['digest']}" in out.out
    assert db_row(shared.root, "select reference, digest, created_by from build_pushes where id = ?", push["id"]) == (
        reference, push["digest"], "face-user")
    assert pull_back(docker_api, reference, push["digest"]) == got["image_id"]
    assert SECRET not in out.out + out.err + got.text() + got.json() + log_text(shared.svc, push["job_id"])
    secret_nowhere(shared.root)


@pytest.mark.timeout(60)
def test_magic_detach_then_cancel_a_queued_build(shared: Shared, capsys: pytest.CaptureFixture[str]) -> None:
    sh = shell()
    queued = sh.run_line_magic("mlops", "build sleepy:1.0 --tag faces/sleepy:queued --no-follow")
    assert queued is not None, capsys.readouterr().err
    assert queued["state"] == "queued" and queued.title == (
        f"queued build {queued['id']} of sleepy:1.0 as faces/sleepy:queued; "
        f"follow it with `builds log {queued['id']} --follow`")
    assert queued["options"]["dockerfile"] == "custom"
    again = sh.run_line_magic("mlops", "build sleepy:1.0 --tag faces/sleepy:queued --detach")
    assert again["id"] == queued["id"] and again.title.startswith(f"build {queued['id']} of sleepy:1.0 as "
                                                                  "faces/sleepy:queued is already queued")
    active = sh.run_line_magic("mlops", "builds list --active")
    assert [b["id"] for b in active.data["items"]] == [queued["id"]]
    cancelled = sh.run_line_magic("mlops", f"builds cancel {queued['id']}")
    assert cancelled.title == f"build {queued['id']}: cancel requested (cancelled)"
    assert sh.run_line_magic("mlops", "builds list --active").data["items"] == []
    assert db_row(shared.root, "select j.state, b.image_id from builds b join jobs j on j.id = b.job_id "
                               "where b.id = ?", queued["id"]) == ("cancelled", None)
    assert magic_fails(sh, f"builds cancel {queued['id']}") == (f"job {queued['job_id']} already cancelled; "
                                                                 "nothing to cancel")


BAD_MAGIC = [
    ("build tiny:1.0 --tag 'Bad Tag'", "tag: "),
    ("build tiny:1.0 --tag team/Tiny:1", "tag: "),
    ("build tiny:1.0 --base-image 'has space'", "base_image: "),
    ("build tiny:1.0 --platform amd64", "platform: "),
    ("build tiny:1.0 --project ../outside", "project: "),
    ("build tiny:1.0 --build-arg FACES_UNSET_ARG",
     "build_args: --build-arg FACES_UNSET_ARG has no value and $FACES_UNSET_ARG is not set"),
    ("build tiny:1.0 --build-arg 9X=1", "build_args: "),
    ("build tiny:1.0 --run-check \"sh -c 'unbalanced\"", "run_check: cannot split the command"),
    ("build tiny:1.0 --push 127.0.0.1:5000 --username ada",
     f"password: --username needs the password in ${PASSWORD_ENV}"),
    ("build tiny:1.0 --push 127.0.0.1:5000 --password-stdin", "username: --password-stdin needs "
                                                             "--username USER"),
    ("build tiny:1.0 --push 'bad registry'", "registry: "),
    ("build tiny:1.0 --detach --push 127.0.0.1:5000", "build: --push needs the build to finish"),
    ("build tiny:1.0 --repository team/tiny", "build: --repository, --push-tag, --username and "
                                              "--password-stdin go with --push REGISTRY"),
    ("build tiny:1.0 --accelerator tpu", "%mlops build: argument --accelerator: invalid choice"),
    ("build tiny", "release: must be MODEL:VERSION or MODEL:VERSION:QUANTIZATION"),
    ("build tiny:9.9", "release tiny:9.9:none does not exist"),
    ("build 999", "release 999 does not exist"),
    ("builds show 999", "build 999 does not exist"),
    ("builds push 1 127.0.0.1:5000 --username ada",
     f"password: --username needs the password in ${PASSWORD_ENV}"),
]


@pytest.mark.timeout(60)
def test_magic_bad_input_names_the_field_and_records_nothing(shared: Shared,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    sh = shell()
    db = shared.root / ".mlops" / "mlops.db"
    before = snapshot(db)
    for line, message in BAD_MAGIC:
        assert magic_fails(sh, line).startswith(message), line
    assert snapshot(db) == before


@pytest.mark.timeout(60)
def test_magic_password_stdin_asks_with_a_password_prompt(shared: Shared, docker_api: Any, registry_addr: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """In a kernel, standard input is not the person: --password-stdin asks with getpass,
    which ipykernel shows as a password box in the notebook. No person types here, so
    getpass is stood in for (the one mock in this file)."""
    import getpass

    asked: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": asked.append(prompt) or SECRET)
    sh = shell()
    got = sh.run_line_magic("mlops", f"builds push {shared.build['id']} {registry_addr} --repository team/stdin "
                                     "--username ada --password-stdin")
    out = capsys.readouterr()
    assert got is not None, out.err
    assert asked == ["registry password: "]
    assert got["reference"] == f"{registry_addr}/team/stdin:1.0" and got["digest"].startswith("sha256:")
    assert pull_back(docker_api, got["reference"], got["digest"]) == shared.build["image_id"]
    assert SECRET not in out.out + out.err + got.text()
    secret_nowhere(shared.root)


# -- jupyter mlops -----------------------------------------------------------------------------
def cli(*args: str, expect: int = 0, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", *args], env=dict(os.environ), input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.mark.timeout(180)
def test_cli_build_list_show_log_push(shared: Shared, docker_api: Any, base_image: str, registry_addr: str,
                                      tmp_path: Path) -> None:
    built = cli("build", "tiny:1.0", "--base-image", base_image, "--tag", "faces/tiny:cli", "--no-cache",
                "--accelerator", "cpu", "--json")
    build = json.loads(built.stdout)  # stdout is the JSON answer alone; the live log went to stderr
    assert build["state"] == "succeeded" and build["tag"] == "faces/tiny:cli" and build["reused"] is False
    assert build["options"]["accelerator"] == "cpu" and build["created_by"] == "face-user"
    assert "Step 1/" in built.stderr and "Successfully tagged faces/tiny:cli" in built.stderr
    assert docker_api.inspect_image("faces/tiny:cli")["Id"] == build["image_id"]

    listed = cli("builds", "list", "--release", "tiny:1.0", "--limit", "1")
    lines = listed.stdout.splitlines()
    assert lines[0] == "builds (1)" and lines[1].split()[:3] == ["id", "release", "state"]
    assert lines[3].split()[:4] == [str(build["id"]), "tiny:1.0:none", "succeeded", "faces/tiny:cli"]
    assert lines[-1].startswith("more: --cursor ")
    page = json.loads(cli("builds", "list", "--model", "tiny", "--json").stdout)
    assert build["id"] in [b["id"] for b in page["items"]] and shared.build["id"] in [b["id"] for b in page["items"]]
    shown = cli("builds", "show", str(build["id"])).stdout
    assert shown.startswith(f"build {build['id']} (tiny:1.0:none as faces/tiny:cli): succeeded")
    assert "  accelerator    cpu" in shown and f"  base image     {base_image}" in shown
    log = cli("builds", "log", str(build["id"]), "--json").stdout
    assert any("Successfully built" in line["line"] for line in json.loads(log)["lines"])
    assert "Successfully tagged" in cli("builds", "log", str(build["id"])).stdout

    # push: the password on standard input; the digest pulls the same image back
    pushed = cli("builds", "push", str(build["id"]), registry_addr, "--repository", "team/cli", "--username", "ada",
                 "--password-stdin", stdin=SECRET + "\n")
    reference = f"{registry_addr}/team/cli:cli"
    assert pushed.stdout.startswith(f"pushed {reference}@sha256:") and "(run inline)" in pushed.stdout
    push = json.loads(cli("builds", "show", str(build["id"]), "--json").stdout)["pushes"][0]
    assert push["reference"] == reference and push["state"] == "succeeded"
    assert pull_back(docker_api, reference, push["digest"]) == build["image_id"]
    assert SECRET not in pushed.stdout + pushed.stderr

    # refusals: a field named, exit 1 (bad input) or 2 (bad usage), nothing recorded
    db = shared.root / ".mlops" / "mlops.db"
    before = snapshot(db)
    bad = cli("build", "tiny:1.0", "--tag", "Bad Tag", expect=1)
    assert bad.stderr.startswith("error: tag: must be an image reference")
    bad = cli("builds", "push", str(build["id"]), registry_addr, "--username", "ada", "--password-stdin",
              stdin="", expect=1)
    assert bad.stderr == "error: password: --password-stdin read nothing from standard input\n"
    bad = cli("build", "tiny:1.0", "--detach", "--push", registry_addr, expect=2)
    assert bad.stderr.startswith("error: build: --push needs the build to finish; drop --detach")
    bad = cli("build", "tiny:1.0", "--build-arg", "FACES_UNSET_ARG", expect=1)
    assert bad.stderr.startswith("error: build_args: ")
    assert snapshot(db) == before
    secret_nowhere(shared.root)

    # `jupyter mlops` is the same command line
    proc = subprocess.run([str(Path(sys.executable).with_name("jupyter")), "mlops", "builds", "show", str(build["id"]),
                           "--json"], env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["image_id"] == build["image_id"]


@pytest.mark.timeout(180)
def test_cli_cancel_a_running_build_from_another_shell(shared: Shared, docker_api: Any) -> None:
    queued = json.loads(cli("build", "sleepy:1.0", "--tag", "faces/sleepy:cli", "--detach", "--json").stdout)
    assert queued["state"] == "queued"
    follower = subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "builds", "log", str(queued["id"]),
                                 "--follow"], env=dict(os.environ), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: RUNNING in log_text(shared.svc, queued["job_id"]) or follower.poll() is not None)
        assert follower.poll() is None, follower.communicate()
        assert sleeping_steps(docker_api)  # the RUN step is running in the daemon
        asked = time.monotonic()
        cancelled = cli("builds", "cancel", str(queued["id"]))
        assert cancelled.stdout.startswith(f"build {queued['id']}: cancel requested (")
        out, err = follower.communicate(timeout=30)
        took = time.monotonic() - asked
    except AssertionError as exc:
        if follower.poll() is None:
            follower.kill()
        raise AssertionError(f"{exc}; the follower said {follower.communicate()}") from None
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 1, (out, err)  # the followed build did not succeed
    assert f"error: build {queued['id']} cancelled" in err, err
    assert "Step 2/" in err and RUNNING in err  # the follower printed the log as it came
    assert took < 15
    wait_for(lambda: not sleeping_steps(docker_api), timeout=30)  # the daemon stopped the step
    shown = json.loads(cli("builds", "show", str(queued["id"]), "--json").stdout)
    assert shown["state"] == "cancelled" and shown["image_id"] is None
    assert json.loads(cli("builds", "list", "--active", "--json").stdout)["items"] == []
    assert not docker_api.images(name="faces/sleepy")


# -- BuildPanel --------------------------------------------------------------------------------
@pytest.fixture
def panel_svc(workspace: Path, docker_host: str, base_image: str) -> Iterator[Services]:
    """A workspace of its own: a panel follows any active build it finds when it opens."""
    svc = Services(Settings.of(workspace, docker_host=docker_host))
    add_releases(svc, base_image)
    yield svc
    close(svc)


@pytest.mark.timeout(240)
def test_panel_build_push_cancel_and_errors(panel_svc: Services, docker_api: Any, base_image: str,
                                            registry_addr: str) -> None:
    from jupyter_mlops.widgets import BuildPanel

    svc = panel_svc
    panel = BuildPanel(svc, actor="panel-user")
    children = panel.children
    assert panel.builds_html.value == "<i>(no builds yet)</i>" and panel.push_build.options == ()
    assert [label for label, _ in panel.model.options] == ["sleepy", "tiny"]

    # bad input: the message names the field; nothing is recorded
    db = svc.workspace.state_dir / "mlops.db"
    before = snapshot(db)
    for text, message in (("tiny", "release: must be MODEL:VERSION"), ("tiny:9.9", "release tiny:9.9:none does not "
                                                                                   "exist")):
        panel.release_text.value = text
        panel.build_button.click()
        assert message in panel.error.value and not panel.busy and panel.job is None, panel.error.value
    panel.release_text.value = "tiny:1.0"
    panel.tag.value = "Bad Tag"
    panel.build_button.click()
    assert "tag: must be an image reference" in panel.error.value and panel.job is None
    assert snapshot(db) == before

    # build: the daemon's log fills the log area; the table and the push choice show it
    panel.tag.value = "faces/panel:1"
    panel.base_image.value = base_image
    panel.build_button.click()
    assert panel.error.value == "", panel.error.value
    assert panel.busy and panel.build_button.disabled
    job = panel.wait(120)
    assert job is not None and job["state"] == "succeeded", (job, panel.error.value)
    build = svc.builds.get(panel.build["id"])
    assert build["tag"] == "faces/panel:1" and build["created_by"] == "panel-user"
    assert docker_api.inspect_image("faces/panel:1")["Id"] == build["image_id"]
    assert "Step 1/" in panel.log_area.value and "Successfully tagged faces/panel:1" in panel.log_area.value
    assert "faces/panel:1" in panel.builds_html.value and "succeeded" in panel.builds_html.value
    assert panel.push_build.value == build["id"] and "built faces/panel:1" in panel.status.value
    assert not panel.busy and panel.cancel_button.disabled

    # push: the password leaves the form at once, the digest pulls the image back
    panel.registry.value = registry_addr
    panel.username.value = "ada"
    panel.password.value = SECRET
    panel.push_button.click()
    assert panel.password.value == "" and panel.error.value == "", panel.error.value
    job = panel.wait(60)
    assert job is not None and job["state"] == "succeeded", (job, panel.error.value)
    push = panel.push_view
    assert push is not None and push["reference"] == f"{registry_addr}/faces/panel:1"
    assert push["digest"].startswith("sha256:") and f"pushed {push['reference']}@{push['digest']}" in panel.status.value
    assert "digest: " + push["digest"] in panel.log_area.value
    assert pull_back(docker_api, push["reference"], push["digest"]) == build["image_id"]
    assert SECRET not in panel.log_area.value + panel.status.value + panel.error.value

    # a push with a username and no password is refused in the panel
    panel.push_build.value = build["id"]
    panel.username.value = "ada"
    panel.push_button.click()
    assert "password: give username and password together" in panel.error.value and not panel.busy

    # cancel mid-build from the panel (the release picked from the dropdowns this time)
    panel.release_text.value = ""
    panel.tag.value = panel.base_image.value = ""
    panel.model.value = "sleepy"
    assert panel.release.options[0][0] == "1.0 (none, candidate)"
    panel.build_button.click()
    sleepy = panel.build
    assert sleepy is not None and sleepy["tag"] == "sleepy:1.0"
    wait_for(lambda: RUNNING in panel.log_area.value, timeout=60)
    assert not panel.cancel_button.disabled and panel.busy
    asked = time.monotonic()
    panel.cancel_button.click()
    job = panel.wait(30)
    assert job is not None and job["state"] == "cancelled", job
    assert time.monotonic() - asked < 15
    assert f"job {job['id']} (build.image) cancelled" in panel.error.value
    assert svc.builds.get(sleepy["id"])["image_id"] is None and not panel.busy
    wait_for(lambda: not sleeping_steps(docker_api), timeout=30)

    # refresh keeps it all; the password never reached the store
    panel.refresh_button.click()
    assert [b["id"] for b in panel.builds] == [sleepy["id"], build["id"]]
    assert panel.children == children
    secret_nowhere(svc.workspace.root)
