"""What a project declares: real pyproject.toml and requirements files in tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.deps.declared import Declaration, find_project, read_declared
from jupyter_mlops.errors import InvalidInput


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def reqs(decl: Declaration) -> list[tuple[str, str, str | None]]:
    return [(str(d.requirement), d.source, d.extra) for d in decl.requirements]


def error(project: Path, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        read_declared(project, **kwargs)  # type: ignore[arg-type]
    return info.value


# ---- find_project ----------------------------------------------------------------------


def test_find_project_walks_up_and_stops(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws / "proj" / "pyproject.toml", "[project]\nname = 'p'\n")
    deep = ws / "proj" / "notebooks" / "deep"
    deep.mkdir(parents=True)
    assert find_project(deep) == (ws / "proj").resolve()
    nb = write(deep / "a.ipynb", "{}")
    assert find_project(nb) == (ws / "proj").resolve()  # a file starts from its folder
    write(ws / "other" / "sub" / "x.txt", "")
    write(tmp_path / "requirements.txt", "alpha\n")  # above the workspace: not reached with stop
    assert find_project(ws / "other" / "sub", stop=ws) is None
    assert find_project(ws / "other" / "sub") == tmp_path.resolve()


def test_find_project_requirements_only(tmp_path: Path) -> None:
    write(tmp_path / "r" / "requirements.txt", "alpha\n")
    (tmp_path / "r" / "src").mkdir()
    assert find_project(tmp_path / "r" / "src", stop=tmp_path) == (tmp_path / "r").resolve()


# ---- pyproject -------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "My_Proj"
dependencies = [
    "alpha>=1.0",
    "gpu-only; extra == 'gpu'",
    "old-thing; python_version < '3.0'",
]

[project.optional-dependencies]
gpu = ["torch>=2.3", "my-proj[fast]"]
fast = ["beta>=1.5"]
test = ["pytest"]

[dependency-groups]
dev = ["ruff", {include-group = "test"}]
test = ["pytest>=8", "coverage"]
"""


def test_pyproject_dependencies_extras_and_groups(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    decl = read_declared(tmp_path, extras=["GPU"], groups=["dev"])
    assert decl.project == tmp_path.resolve()
    assert decl.extras == ["gpu"] and decl.groups == ["dev"]
    deps = "pyproject.toml [project.dependencies]"
    assert reqs(decl) == [
        ("alpha>=1.0", deps, None),
        ('gpu-only; extra == "gpu"', deps, None),
        ('old-thing; python_version < "3.0"', deps, None),
        ("torch>=2.3", "pyproject.toml [project.optional-dependencies] gpu", "gpu"),
        ("ruff", "pyproject.toml [dependency-groups] dev", None),
        ("pytest>=8", "pyproject.toml [dependency-groups] test", None),
        ("coverage", "pyproject.toml [dependency-groups] test", None),
        # `my-proj[fast]` inside the gpu extra reads the fast extra (not the project itself)
        ("beta>=1.5", "pyproject.toml [project.optional-dependencies] fast", "fast"),
    ]
    assert decl.requirements[0].text == "alpha>=1.0"
    assert decl.requirements[1].text == "gpu-only; extra == 'gpu'"
    assert decl.files == ["pyproject.toml"]
    assert decl.unsupported == [] and decl.constraints == [] and decl.settings == {}


def test_self_reference_marker_is_kept_and_cycles_are_harmless(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
[project]
name = "p"
dependencies = []
[project.optional-dependencies]
all = ["p[cuda,rocm]", "p[all]"]
cuda = ["cupy"]
rocm = ["hip-thing; sys_platform == 'linux'", "p[all]; python_version >= '3'"]
""")
    decl = read_declared(tmp_path, extras=["all"])
    assert reqs(decl) == [
        ("cupy", "pyproject.toml [project.optional-dependencies] cuda", "cuda"),
        ('hip-thing; sys_platform == "linux"', "pyproject.toml [project.optional-dependencies] rocm", "rocm"),
    ]
    write(tmp_path / "pyproject.toml", """\
[project]
name = "p"
[project.optional-dependencies]
all = ["p[cuda]; sys_platform == 'win32'"]
cuda = ["cupy>=13; python_version >= '3.9'"]
""")
    (only,) = read_declared(tmp_path, extras=["all"]).requirements
    assert str(only.requirement.marker) == 'sys_platform == "win32" and python_version >= "3.9"'
    assert only.text == "cupy>=13; python_version >= '3.9'"


def test_dependency_groups_cycle_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
[dependency-groups]
a = ["x", {include-group = "b"}]
b = [{include-group = "c"}]
c = [{include-group = "a"}]
""")
    err = error(tmp_path, groups=["a"])
    assert err.message == "pyproject.toml [dependency-groups] c: include-group cycle (a -> b -> c -> a)"


def test_dependency_groups_bad_entries(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[dependency-groups]\ndev = [{include-group = "docs"}]\nlint = ["ruff"]\n')
    assert error(tmp_path, groups=["dev"]).message == (
        "pyproject.toml [dependency-groups] dev: include-group 'docs' is not a dependency group; "
        "pyproject.toml [dependency-groups] defines: dev, lint"
    )
    write(tmp_path / "pyproject.toml", '[dependency-groups]\ndev = ["ruff", {path = "x"}]\n')
    assert error(tmp_path, groups=["dev"]).message == (
        'pyproject.toml [dependency-groups] dev item 2: must be a requirement string or {include-group = "name"}'
    )


def test_unknown_extra_and_group(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    err = error(tmp_path, extras=["cuda"])
    assert err.message == (
        "extras: unknown extra 'cuda'; pyproject.toml [project.optional-dependencies] defines: fast, gpu, test"
    )
    assert err.field == "extras"
    err = error(tmp_path, groups=["docs"])
    assert err.message == "groups: unknown dependency group 'docs'; pyproject.toml [dependency-groups] defines: dev, test"
    assert err.field == "groups"
    write(tmp_path / "pyproject.toml", '[project]\nname = "p"\n[project.optional-dependencies]\nall = ["p[nope]"]\n')
    assert error(tmp_path, extras=["all"]).message == (
        "pyproject.toml:4 [project.optional-dependencies] all: 'p[nope]' names unknown extra 'nope'; "
        "pyproject.toml [project.optional-dependencies] defines: all"
    )


def test_extras_without_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "alpha\n")
    assert error(tmp_path, extras=["gpu"]).message == "extras: unknown extra 'gpu'; there is no pyproject.toml"


def test_unparsable_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "p"\ndependencies = ["a" "b"]\n')
    err = error(tmp_path)
    assert err.message == "pyproject.toml: not valid TOML: Unclosed array (at line 3, column 21)"
    assert err.field == "pyproject.toml"


def test_invalid_requirement_in_pyproject_names_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "p"\ndependencies = [\n  "alpha",\n  "beta>=>1",\n]\n')
    assert error(tmp_path).message == (
        "pyproject.toml:5 [project.dependencies]: invalid requirement 'beta>=>1': "
        "Expected semicolon (after name with no version specifier) or end at column 5"
    )


def test_wrong_types_in_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "p"\ndependencies = "alpha"\n')
    assert error(tmp_path).message == "pyproject.toml [project] dependencies: must be a list of strings"


def test_dynamic_dependencies_and_url_reported(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
[project]
name = "p"
dynamic = ["dependencies"]
[project.optional-dependencies]
x = ["pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl", "alpha"]
""")
    decl = read_declared(tmp_path, extras=["x"])
    assert reqs(decl) == [("alpha", "pyproject.toml [project.optional-dependencies] x", "x")]
    assert [(u.source, u.reason, u.key) for u in decl.unsupported] == [
        ("pyproject.toml [project]", "dependencies are computed by the build backend: not read", None),
        ("pyproject.toml [project.optional-dependencies] x", "direct URL reference: its version is not checked", "pkg"),
    ]


# ---- [tool.jupyter-mlops] --------------------------------------------------------------


def test_settings_give_defaults_and_arguments_override(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PYPROJECT + """
[tool.jupyter-mlops]
protected = ["NVIDIA_*", "my.lib"]
extras = ["test"]
groups = ["test"]
requirements = ["reqs/base.txt"]
""")
    write(tmp_path / "reqs" / "base.txt", "zeta==1\n")
    write(tmp_path / "requirements.txt", "never-read\n")
    decl = read_declared(tmp_path)
    assert decl.settings == {"protected": ["nvidia-*", "my-lib"], "extras": ["test"], "groups": ["test"],
                             "requirements": ["reqs/base.txt"]}
    names = [d.key for d in decl.requirements]
    assert names == ["alpha", "gpu-only", "old-thing", "pytest", "pytest", "coverage", "zeta"]
    assert decl.files == ["pyproject.toml", "reqs/base.txt"]
    # explicit empty choices mean none
    decl = read_declared(tmp_path, extras=(), groups=(), requirement_files=())
    assert [d.key for d in decl.requirements] == ["alpha", "gpu-only", "old-thing"]
    # an explicit file replaces the configured ones
    decl = read_declared(tmp_path, extras=(), groups=(), requirement_files=["requirements.txt"])
    assert [d.key for d in decl.requirements][-1] == "never-read"


def test_settings_errors(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.jupyter-mlops]\nprotect = ["torch"]\n')
    assert error(tmp_path).message == (
        "pyproject.toml [tool.jupyter-mlops]: unknown key 'protect'; "
        "allowed keys are extras, groups, protected, requirements"
    )
    write(tmp_path / "pyproject.toml", '[tool.jupyter-mlops]\nprotected = "torch"\n')
    assert error(tmp_path).message == "pyproject.toml [tool.jupyter-mlops] protected: must be a list of strings"
    write(tmp_path / "pyproject.toml", '[project]\nname="p"\n[tool.jupyter-mlops]\nextras = ["gpu"]\n')
    err = error(tmp_path)
    assert err.message == (
        "pyproject.toml [tool.jupyter-mlops] extras: unknown extra 'gpu'; "
        "pyproject.toml defines no [project.optional-dependencies]"
    )
    write(tmp_path / "pyproject.toml", '[tool.jupyter-mlops]\nrequirements = ["missing.txt"]\n')
    assert error(tmp_path).message == (
        f"pyproject.toml [tool.jupyter-mlops] requirements: requirements file 'missing.txt' not found "
        f"({tmp_path.resolve() / 'missing.txt'})"
    )


# ---- requirements files ----------------------------------------------------------------


def test_requirements_file_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_TEST_INDEX", "https://download.pytorch.org/whl/rocm5.7")
    write(tmp_path / "wheels" / "README", "")
    write(tmp_path / "requirements.txt", """\
# the kernel's needs
alpha>=1.0  # trailing comment
beta[fast]>=1.0,\\
<2 ; python_version >= "3.8"
--index-url ${MLOPS_TEST_INDEX}
--extra-index-url https://pypi.org/simple
-f wheels
--no-index
--pre
--pre
gamma==1.0 --hash=sha256:aaaa \\
    --hash=sha256:bbbb
-r sub/more.txt
-c constraints.txt
-e .
-e git+https://example.invalid/repo.git#egg=Delta
./local/pkg
https://example.invalid/x-1.0.tar.gz
zeta-1.0-py3-none-any.whl
eps @ https://example.invalid/eps-1.0-py3-none-any.whl
""")
    write(tmp_path / "sub" / "more.txt", "--requirement=../shared/common.txt\nmore-pkg~=1.2\n")
    write(tmp_path / "shared" / "common.txt", "common-pkg\n")
    write(tmp_path / "constraints.txt", "alpha<3\nbeta!=1.4\n")
    write(tmp_path / "local" / "pkg" / "setup.py", "")  # path requirements exist, as pip insists
    write(tmp_path / "zeta-1.0-py3-none-any.whl", "")
    decl = read_declared(tmp_path)
    assert reqs(decl) == [
        ("alpha>=1.0", "requirements.txt:2", None),
        ('beta[fast]<2,>=1.0; python_version >= "3.8"', "requirements.txt:3", None),
        ("gamma==1.0", "requirements.txt:11", None),
        ("common-pkg", "shared/common.txt:1", None),
        ("more-pkg~=1.2", "sub/more.txt:2", None),
    ]
    assert [(str(c.requirement), c.source) for c in decl.constraints] == [
        ("alpha<3", "constraints.txt:1"), ("beta!=1.4", "constraints.txt:2")]
    assert decl.index_options == [
        "--index-url", "https://download.pytorch.org/whl/rocm5.7",
        "--extra-index-url", "https://pypi.org/simple",
        "--find-links", str((tmp_path / "wheels").resolve()),
        "--no-index",
        "--pre",
    ]
    assert [(u.text, u.source, u.key) for u in decl.unsupported] == [
        ("-e .", "requirements.txt:15", None),
        ("-e git+https://example.invalid/repo.git#egg=Delta", "requirements.txt:16", "delta"),
        ("./local/pkg", "requirements.txt:17", None),
        ("https://example.invalid/x-1.0.tar.gz", "requirements.txt:18", None),
        ("zeta-1.0-py3-none-any.whl", "requirements.txt:19", None),
        ("eps @ https://example.invalid/eps-1.0-py3-none-any.whl", "requirements.txt:20", "eps"),
    ]
    assert decl.unsupported[0].reason == "editable install: its version is not checked"
    assert decl.unsupported[2].reason == "local path requirement: its version is not checked"
    assert decl.unsupported[3].reason == "URL requirement: its version is not checked"
    assert decl.files == ["requirements.txt", "sub/more.txt", "shared/common.txt", "constraints.txt"]


def test_requirements_folder_is_not_read_on_its_own(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "alpha\n")
    write(tmp_path / "requirements" / "dev.txt", "pytest\n")
    assert [d.key for d in read_declared(tmp_path).requirements] == ["alpha"]
    decl = read_declared(tmp_path, requirement_files=["requirements/dev.txt", tmp_path / "requirements.txt"])
    assert [(d.key, d.source) for d in decl.requirements] == [
        ("pytest", "requirements/dev.txt:1"), ("alpha", "requirements.txt:1")]


def test_constraint_file_includes_are_constraints(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "alpha\n-c c/top.txt\n")
    write(tmp_path / "c" / "top.txt", "-r more.txt\n")
    write(tmp_path / "c" / "more.txt", "alpha<2\n")
    decl = read_declared(tmp_path)
    assert [d.key for d in decl.requirements] == ["alpha"]
    assert [(str(d.requirement), d.source) for d in decl.constraints] == [("alpha<2", "c/more.txt:1")]


def test_a_file_read_twice_counts_once(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "-r a.txt\n-r b.txt\n")
    write(tmp_path / "a.txt", "-r common.txt\n")
    write(tmp_path / "b.txt", "-r common.txt\n")
    write(tmp_path / "common.txt", "alpha\n")
    assert [d.source for d in read_declared(tmp_path).requirements] == ["common.txt:1"]


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "alpha\n-r a.txt\n")
    write(tmp_path / "a.txt", "beta\n\n-r sub/b.txt\n")
    write(tmp_path / "sub" / "b.txt", "-r ../a.txt\n")
    err = error(tmp_path)
    assert err.message == "sub/b.txt:1: --requirement ../a.txt makes an include cycle (a.txt -> sub/b.txt -> a.txt)"
    assert err.field == "sub/b.txt:1"


def test_missing_requirements_files(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "alpha\n-r nope.txt\n")
    assert error(tmp_path).message == (
        f"requirements.txt:2: requirements file 'nope.txt' not found ({tmp_path.resolve() / 'nope.txt'})")
    err = error(tmp_path, requirement_files=["dev.txt"])
    assert err.message == f"requirement_files: requirements file 'dev.txt' not found ({tmp_path.resolve() / 'dev.txt'})"
    assert err.field == "requirement_files"


def test_invalid_requirement_lines(tmp_path: Path) -> None:
    """The file and line and what is wrong, never the line itself: the file may not be a
    requirements file at all (a .env, a passwd)."""
    write(tmp_path / "requirements.txt", "alpha\n\n# c\nbeta==\n")
    err = error(tmp_path)
    assert err.message == (
        "requirements.txt:4: not a valid requirement "
        "(Expected semicolon (after name with no version specifier) or end at column 5)")
    assert err.field == "requirements.txt:4"
    write(tmp_path / "requirements.txt", "alpha[x\n")
    assert error(tmp_path).message.startswith(
        "requirements.txt:1: not a valid requirement (Expected matching RIGHT_BRACKET for LEFT_BRACKET")
    for secret in ("DATABASE_URL=postgres://ada:s3cret@db/x", "root:s3cret:19000:0:99999:7:::",
                   "ada:x:1000:1000:ada:/home/ada:/bin/bash ; s3cret", "token s3cret"):
        write(tmp_path / ".env", f"{secret}\n")
        err = error(tmp_path, requirement_files=[".env"])
        assert err.message.startswith(".env:1: not a valid requirement") and "s3cret" not in err.message, secret


def test_bad_options(tmp_path: Path) -> None:
    write(tmp_path / "requirements.txt", "alpha\n--frobnicate\n")
    assert error(tmp_path).message == "requirements.txt:2: unknown option --frobnicate"
    write(tmp_path / "requirements.txt", "alpha --index-url https://x\n")
    assert error(tmp_path).message == (
        "requirements.txt:1: option --index-url is not allowed after a requirement "
        "(per-line options are --hash, --config-settings, --global-option)")
    write(tmp_path / "requirements.txt", "-r\n")
    assert error(tmp_path).message == "requirements.txt:1: option --requirement needs a value"
    write(tmp_path / "requirements.txt", "--hash=sha256:abc\n")
    assert error(tmp_path).message == "requirements.txt:1: option --hash must follow a requirement on the same line"
    write(tmp_path / "c.txt", "beta[x]<2\n")
    write(tmp_path / "requirements.txt", "alpha\n-c c.txt\n")
    assert error(tmp_path).message == "c.txt:1: constraints cannot have extras ('beta[x]<2')"


def test_project_without_files(tmp_path: Path) -> None:
    assert error(tmp_path).message == f"project: {tmp_path.resolve()} holds neither pyproject.toml nor requirements.txt"
    assert error(tmp_path / "nope").message == f"project: {tmp_path / 'nope'} is not a folder"


def test_to_dict_is_json(tmp_path: Path) -> None:
    import json

    write(tmp_path / "pyproject.toml", PYPROJECT)
    write(tmp_path / "requirements.txt", "-e .\nalpha\n--extra-index-url https://me:s3cret@pkgs.example/simple\n"
                                         "priv @ git+https://tok3n@git.example/priv.git\n")
    decl = read_declared(tmp_path, extras=["gpu"])
    assert decl.index_options == ["--extra-index-url", "https://me:s3cret@pkgs.example/simple"]  # kept for pip
    data = json.loads(json.dumps(decl.to_dict()))
    assert data["index_options"] == ["--extra-index-url", "https://****@pkgs.example/simple"]  # masked for output
    assert data["unsupported"][1]["text"] == "priv @ git+https://****@git.example/priv.git"
    assert "s3cret" not in json.dumps(data) and "tok3n" not in json.dumps(data)
    assert data["requirements"][3] == {
        "name": "torch", "key": "torch", "requirement": "torch>=2.3", "text": "torch>=2.3",
        "source": "pyproject.toml [project.optional-dependencies] gpu", "extra": "gpu"}
    assert data["unsupported"][0]["text"] == "-e ."
