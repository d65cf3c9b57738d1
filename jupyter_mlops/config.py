"""The one settings object every face loads: the server, kernels (magics, widgets) and the CLI.

Every setting is a trait of `MLOpsSettings`; the server's `MLOpsApp` inherits them, so
`c.MLOpsApp.db_url = ...` in `jupyter_server_config.py`/`.json` keeps working. Each face
asks `load_settings()` (the server `server_settings()`) for the effective values and where
each came from. Precedence, highest first:

1. an explicit argument: a CLI option (`--db-url`), a face's keyword, the server's command line;
2. an environment variable (`JUPYTER_MLOPS_DB_URL`, `HF_ENDPOINT`, ...); in a kernel or
   terminal the server started, the server's own effective settings (handed down in
   `JUPYTER_MLOPS_SERVER_SETTINGS`) stand here, below a variable changed since;
3. config files: the workspace's `.mlops/config.json`, then Jupyter's config path
   (`jupyter --paths`, `JUPYTER_CONFIG_DIR` first): `jupyter_server_config`, `jupyter_config`,
   `jupyter_jupyter_mlops_config` (`.py` and `.json`), as the server reads them;
4. the default.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from traitlets import Bool, Dict, Int, List, TraitError, TraitType, Unicode, validate
from traitlets.config import Config, Configurable
from traitlets.config.loader import DeferredConfig, LazyConfigValue

from .errors import InvalidInput
from .registry.roles import DEFAULT_PROTECTED_ALIASES, GROUP_PREFIX, ROLES, Policy
from .workspace import STATE_DIRNAME, Workspace, find_root

#: The server's effective settings, handed to the kernels and terminals it starts.
SERVER_SETTINGS_ENV = "JUPYTER_MLOPS_SERVER_SETTINGS"
#: Config file base names, lowest priority first, as the server merges them.
CONFIG_FILES = ("jupyter_jupyter_mlops_config", "jupyter_config", "jupyter_server_config")
#: Config sections read, lowest priority first.
SECTIONS = ("MLOpsSettings", "MLOpsApp")
WORKSPACE_CONFIG = "config.json"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"
DEFAULT_DISK_MARGIN = 1 << 30  # 1 GiB
DOCKER_SCHEMES = ("unix://", "tcp://", "http://", "https://", "ssh://", "npipe://")
SECRET_QUERY_KEYS = ("password", "sslpassword", "token", "secret")
ROOT_SOURCE = "default (the nearest folder upward with .mlops/, else the current one)"


class MLOpsSettings(Configurable):
    """Every jupyter_mlops setting, with its help; `MLOpsApp` (the server extension) inherits them."""

    workspace_dir = Unicode(
        "",
        help="Workspace folder holding .mlops/ (default: the server's root_dir; in a kernel or the CLI, the "
        "nearest folder upward holding .mlops/, else the current folder).",
    ).tag(config=True, env=("JUPYTER_MLOPS_WORKSPACE",))
    db_url = Unicode(
        "",
        help="SQLAlchemy URL of the store (default: sqlite:///<workspace>/.mlops/mlops.db); a PostgreSQL URL "
        "lets a team share one registry. Its password is never shown.",
    ).tag(config=True, env=("JUPYTER_MLOPS_DB_URL",), secret=True)
    models_dir = Unicode(
        "",
        help="Model cache folder, Hugging Face layout (default: <workspace>/models; relative to the workspace).",
    ).tag(config=True, env=("JUPYTER_MLOPS_MODELS_DIR",))
    extra_roots = List(
        Unicode(),
        help="Folders besides the workspace and the model cache that requests may name (project folders, model "
        "storage paths), e.g. a shared /mnt/ceph mount. Anything else is refused.",
    ).tag(config=True, env=("JUPYTER_MLOPS_EXTRA_ROOTS",))
    allowed_pythons = List(
        Unicode(),
        help="Interpreters, or folders holding environments, the dependency doctor may check and repair besides "
        "the kernels' own (their kernelspecs' interpreters and the environments of running kernels).",
    ).tag(config=True, env=("JUPYTER_MLOPS_ALLOWED_PYTHONS",))
    max_body_bytes = Int(
        10 << 20,
        min=1024,
        help="Largest request body the REST API reads, in bytes; a larger one is refused (413) before it is read.",
    ).tag(config=True, env=("JUPYTER_MLOPS_MAX_BODY_BYTES",))
    protected_packages = List(
        Unicode(),
        help="Distribution names or globs the dependency doctor never replaces, on top of torch, torchvision, "
        "torchaudio, triton, pytorch-triton-rocm, nvidia-* and rocm-* (and any +rocm/+cu/+xpu build).",
    ).tag(config=True, env=("JUPYTER_MLOPS_PROTECTED_PACKAGES",))
    hf_endpoint = Unicode(
        DEFAULT_HF_ENDPOINT,
        help="Hugging Face Hub URL model downloads use.",
    ).tag(config=True, env=("JUPYTER_MLOPS_HF_ENDPOINT", "HF_ENDPOINT"))
    download_disk_margin = Int(
        DEFAULT_DISK_MARGIN,
        min=0,
        help="Bytes that must stay free on the model cache's disk after a download; a download that "
        "would leave less is refused before it starts.",
    ).tag(config=True, env=("JUPYTER_MLOPS_DOWNLOAD_DISK_MARGIN",))
    docker_host = Unicode(
        DEFAULT_DOCKER_HOST,
        help="Docker daemon image builds and pushes use, e.g. unix:///run/user/1000/docker.sock.",
    ).tag(config=True, env=("JUPYTER_MLOPS_DOCKER_HOST", "DOCKER_HOST"))
    build_base_images = Dict(
        value_trait=Unicode(),
        help="Base image of generated Dockerfiles by accelerator: keys rocm, cuda, cpu (defaults "
        "rocm/pytorch:latest, pytorch/pytorch:latest, python:3.12-slim).",
    ).tag(config=True, env=("JUPYTER_MLOPS_BUILD_BASE_IMAGES",))
    mlflow_tracking_uri = Unicode(
        "",
        help="URL of an MLflow tracking server (`mlflow server`) to import registered models from and to read "
        "releases' runs from; its token comes from $MLFLOW_TRACKING_TOKEN (or $MLFLOW_TRACKING_USERNAME and "
        "$MLFLOW_TRACKING_PASSWORD), never from a config file.",
    ).tag(config=True, env=("JUPYTER_MLOPS_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"), secret=True)
    s3_endpoint_url = Unicode(
        "",
        help="URL of the S3-compatible server models are stored on (Ceph RGW, MinIO, ...), e.g. "
        "http://rgw.lab:7480; empty means AWS S3. Credentials come from the standard AWS chain of the server's "
        "user (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials and config, profiles), never from here.",
    ).tag(config=True, env=("JUPYTER_MLOPS_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"))
    s3_region = Unicode(
        "",
        help="Region of the S3 buckets (empty: the AWS chain's, e.g. AWS_REGION or the profile's region).",
    ).tag(config=True, env=("JUPYTER_MLOPS_S3_REGION",))
    s3_addressing_style = Unicode(
        "auto",
        help="How bucket names go in S3 URLs: path (http://host/bucket/key, what Ceph RGW and MinIO usually need), "
        "virtual (http://bucket.host/key) or auto (virtual where the bucket name allows, AWS's default).",
    ).tag(config=True, env=("JUPYTER_MLOPS_S3_ADDRESSING_STYLE",))
    s3_profile = Unicode(
        "",
        help="AWS profile (of ~/.aws/config and credentials) whose keys reach S3 (empty: AWS_PROFILE or the default).",
    ).tag(config=True, env=("JUPYTER_MLOPS_S3_PROFILE",))
    roles = Dict(
        value_trait=Unicode(),
        help='Roles on the registry: user names and JupyterHub groups ("group:ml-leads") mapped to reader, '
        "writer or release_manager; a user holds the strongest role any entry gives them. A writer creates "
        "and updates models, releases, artifacts and deployments; a release manager also promotes, demotes, "
        "deprecates, deletes, imports and moves protected aliases. Set it in the system-wide Jupyter config "
        "(/etc/jupyter), which users cannot edit; it is read from no environment variable and no workspace file.",
    ).tag(config=True, env=(), policy=True)
    default_role = Unicode(
        "",
        help="Role of anyone `roles` does not name: reader, writer or release_manager (default: release_manager "
        "while `roles` is empty, so one person's registry works as before; reader once it names anyone).",
    ).tag(config=True, env=(), policy=True)
    protected_aliases = List(
        Unicode(),
        default_value=list(DEFAULT_PROTECTED_ALIASES),
        help="Aliases only release managers may set, move, roll back or delete.",
    ).tag(config=True, env=(), policy=True)
    max_jobs = Int(2, min=1, max=64, help="How many jobs the server's worker runs at once.").tag(
        config=True, env=("JUPYTER_MLOPS_MAX_JOBS",)
    )
    run_worker = Bool(True, help="Run the job worker inside the server.").tag(
        config=True, env=("JUPYTER_MLOPS_RUN_WORKER",)
    )

    @validate("db_url")
    def _check_db_url(self, proposal: Any) -> str:
        url = proposal["value"]
        if url and "://" not in url:
            raise TraitError(
                f"must be a SQLAlchemy URL such as sqlite:////path/mlops.db or "
                f"postgresql+psycopg://user@host/db (got {redact_url(url)!r})"
            )
        return str(url)

    @validate("mlflow_tracking_uri")
    def _check_mlflow_tracking_uri(self, proposal: Any) -> str:
        url = proposal["value"]
        if url and (not url.startswith(("http://", "https://")) or not urlsplit(url).hostname):
            raise TraitError(
                f"must be the http:// or https:// URL of an MLflow tracking server (got {redact_url(url)!r}); "
                "a local store (file:, sqlite:) is read through one: `mlflow server --backend-store-uri ...`"
            )
        return str(url).rstrip("/")

    @validate("s3_endpoint_url")
    def _check_s3_endpoint_url(self, proposal: Any) -> str:
        url = proposal["value"]
        if url and (not url.startswith(("http://", "https://")) or not urlsplit(url).hostname):
            raise TraitError(
                f"must be the http:// or https:// URL of an S3-compatible server (got {redact_url(url)!r})"
            )
        return str(url).rstrip("/")

    @validate("s3_addressing_style")
    def _check_s3_addressing_style(self, proposal: Any) -> str:
        style = proposal["value"]
        if style not in ("auto", "path", "virtual"):
            raise TraitError(f"must be auto, path or virtual (got {style!r})")
        return str(style)

    @validate("hf_endpoint")
    def _check_hf_endpoint(self, proposal: Any) -> str:
        url = proposal["value"]
        if not url.startswith(("http://", "https://")) or not urlsplit(url).hostname:
            raise TraitError(f"must be an http:// or https:// URL (got {url!r})")
        return str(url)

    @validate("docker_host")
    def _check_docker_host(self, proposal: Any) -> str:
        host = proposal["value"]
        if not host.startswith(DOCKER_SCHEMES):
            raise TraitError(f"must start with one of {', '.join(DOCKER_SCHEMES)} (got {host!r})")
        return str(host)

    @validate("roles")
    def _check_roles(self, proposal: Any) -> dict[str, str]:
        given = dict(proposal["value"])
        for who, role in given.items():
            if not who.strip() or who == GROUP_PREFIX:
                raise TraitError("a key must be a user name or group:<name> (got an empty one)")
            if role not in ROLES:
                raise TraitError(f"{who}: must be one of {', '.join(ROLES)} (got {role!r})")
        return given

    @validate("default_role")
    def _check_default_role(self, proposal: Any) -> str:
        role = proposal["value"]
        if role and role not in ROLES:
            raise TraitError(f"must be one of {', '.join(ROLES)} (got {role!r})")
        return str(role)

    @validate("protected_aliases")
    def _check_protected_aliases(self, proposal: Any) -> list[str]:
        from .registry.rules import ALIAS

        names = list(proposal["value"])
        for name in names:
            try:
                ALIAS.clean("alias", name)
            except InvalidInput as exc:
                raise TraitError(exc.message.removeprefix("alias: ")) from None
        return names

    @validate("protected_packages")
    def _check_protected(self, proposal: Any) -> list[str]:
        names = list(proposal["value"])
        bad = [n for n in names if not re.fullmatch(r"[A-Za-z0-9*?\[\]][A-Za-z0-9._*?\[\]-]*", n)]
        if bad:
            raise TraitError(f"must be distribution names or globs such as flash-attn or rocm-* (got {bad[0]!r})")
        return names

    @validate("build_base_images")
    def _check_base_images(self, proposal: Any) -> dict[str, str]:
        from .builds.rules import ACCELERATORS

        images = dict(proposal["value"])
        unknown = sorted(set(images) - set(ACCELERATORS))
        if unknown:
            raise TraitError(f"keys must be {', '.join(ACCELERATORS)} (got {unknown[0]!r})")
        if any(not image.strip() for image in images.values()):
            raise TraitError("an image name must not be empty")
        return images


#: Names of the settings, in the order they are defined (and shown).
NAMES: tuple[str, ...] = tuple(
    k for k, v in vars(MLOpsSettings).items() if isinstance(v, TraitType) and v.metadata.get("config")
)

#: The settings that say who may do what: never from the environment or a workspace's file.
POLICY: tuple[str, ...] = tuple(name for name in NAMES if MLOpsSettings.class_traits()[name].metadata.get("policy"))


@dataclass(frozen=True)
class Settings:
    """The effective settings of one face: each value, and where it came from (`origins`)."""

    workspace: Workspace
    protected_packages: tuple[str, ...] = ()
    hf_endpoint: str = DEFAULT_HF_ENDPOINT
    download_disk_margin: int = 1 << 30
    docker_host: str = DEFAULT_DOCKER_HOST
    build_base_images: Mapping[str, str] = field(default_factory=dict)
    mlflow_tracking_uri: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_addressing_style: str = "auto"
    s3_profile: str = ""
    max_jobs: int = 2
    run_worker: bool = True
    extra_roots: tuple[Path, ...] = ()
    allowed_pythons: tuple[Path, ...] = ()
    max_body_bytes: int = 10 << 20
    policy: Policy = field(default_factory=Policy)
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders a request may name: the workspace, the model cache, the extra roots."""
        ws = self.workspace
        return (ws.root, ws.models_dir, *self.extra_roots)

    @property
    def workspace_located(self) -> bool:
        """Whether the workspace was named (a setting, a database URL) or found upward (a
        `.mlops/` folder), rather than taken as the current folder for want of one."""
        named = self.origins.get("workspace_dir") != ROOT_SOURCE or "db_url" in self.origins
        return named or self.workspace.state_dir.is_dir()

    @property
    def served(self) -> bool:
        """Whether a Jupyter server handed this workspace down (this is one of its kernels)."""
        return self.origins.get("workspace_dir", "").startswith("server")

    def where(self) -> dict[str, str]:
        """Which workspace and store a face uses, as it may show them (passwords hidden)."""
        return {"path": str(self.workspace.root), "store": redact_url(self.workspace.db_url)}

    @classmethod
    def of(cls, workspace_dir: str | Path, **values: Any) -> Settings:
        """Settings from these values and the defaults only (no files, no environment):
        for code that embeds the services, and for tests."""
        return resolve(overrides=[Layer("argument", {"workspace_dir": str(workspace_dir), **values})])

    def value(self, name: str) -> Any:
        """The effective value of setting `name`, as the trait holds it."""
        ws = self.workspace
        special = {
            "workspace_dir": str(ws.root),
            "db_url": ws.db_url,
            "models_dir": str(ws.models_dir),
            "roles": dict(self.policy.roles),
            "default_role": self.policy.default_role,
            "protected_aliases": list(self.policy.protected_aliases),
        }
        if name in special:
            return special[name]
        found = getattr(self, name)
        if isinstance(found, tuple):
            return [str(item) if isinstance(item, Path) else item for item in found]
        return dict(found) if isinstance(found, Mapping) else found

    def key(self) -> str:
        """The values as one string: equal for equal settings, whatever their origins."""
        return json.dumps({name: self.value(name) for name in NAMES}, sort_keys=True)

    def shown(self, name: str) -> Any:
        """The value as a face may print it: secrets redacted."""
        value = self.value(name)
        return redact_url(value) if MLOpsSettings.class_traits()[name].metadata.get("secret") else value

    def describe(self) -> list[dict[str, Any]]:
        """One row per setting: name, shown value, source, environment variables, help."""
        traits = MLOpsSettings.class_traits()
        return [
            {
                "name": name,
                "value": self.shown(name),
                "source": self.origins.get(name, "default"),
                "env": list(traits[name].metadata.get("env", ())),
                "help": traits[name].help,
            }
            for name in NAMES
        ]

    def handed_down(self, environ: Mapping[str, str] | None = None) -> str:
        """JSON for `SERVER_SETTINGS_ENV`: every value with its origin, and the environment
        variables as this process saw them (a kernel knows which ones changed since)."""
        environ = os.environ if environ is None else environ
        names = [var for name in NAMES for var in MLOpsSettings.class_traits()[name].metadata.get("env", ())]
        return json.dumps(
            {
                "settings": {
                    name: {"value": self.value(name), "source": self.origins.get(name, "default")} for name in NAMES
                },
                "environ": {var: environ.get(var) for var in names},
            }
        )


@dataclass(frozen=True)
class Layer:
    """Setting values from one source (a file, the environment, the command line...)."""

    source: str
    values: Mapping[str, Any]
    #: per-name sources, when the values came from several (the server's hand-down)
    sources: Mapping[str, str] = field(default_factory=dict)


def redact_url(url: str) -> str:
    """A URL with its password (and any password or token query value) replaced by ***."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    if any(k.lower() in SECRET_QUERY_KEYS for k, _sep, _v in pairs):
        query = "&".join(f"{k}=***" if k.lower() in SECRET_QUERY_KEYS else f"{k}{sep}{v}" for k, sep, v in pairs)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# -- reading sources -----------------------------------------------------------------------
def _sections(config: Any) -> dict[str, Any]:
    """The settings in a traitlets Config (`MLOpsApp` over `MLOpsSettings`)."""
    found: dict[str, Any] = {}
    for section in SECTIONS:
        if (isinstance(config, Config) and config._has_section(section)) or (
            isinstance(config, Mapping) and isinstance(config.get(section), Mapping)
        ):
            found.update(config[section])
    return {k: v for k, v in found.items() if k in NAMES}


def file_layers(paths: Sequence[str] | None = None) -> list[Layer]:
    """The settings in Jupyter's config files on `paths` (default: `jupyter --paths`'
    config dirs, highest priority first), one layer per file, lowest priority first, as
    the server merges them. A file that cannot be read is InvalidInput naming it."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    paths = jupyter_config_path() if paths is None else list(paths)
    layers = []
    for base in CONFIG_FILES:
        for directory in reversed(paths):
            for loader, ext in ((PyFileConfigLoader, ".py"), (JSONFileConfigLoader, ".json")):
                path = Path(directory) / f"{base}{ext}"
                if not path.is_file():
                    continue
                try:
                    config = loader(path.name, path=str(directory)).load_config()
                except Exception as exc:
                    raise InvalidInput(
                        f"config: cannot read {path}: {type(exc).__name__}: {exc}", field="config"
                    ) from None
                values = _sections(config)
                if values:
                    layers.append(Layer(f"file {path}", values))
    return layers


def workspace_layer(root: Path) -> Layer | None:
    """The settings in `<workspace>/.mlops/config.json` (`{"MLOpsApp": {...}}`), if any."""
    path = root / STATE_DIRNAME / WORKSPACE_CONFIG
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"config: cannot read {path}: {exc}", field="config") from None
    values = _sections(data) if isinstance(data, dict) else {}
    for name in ("workspace_dir", *POLICY):
        if name in values:
            raise InvalidInput(f"{name}: cannot be set in the workspace's own {path}", field=name)
    return Layer(f"file {path}", values) if values else None


def _env_value(name: str, text: str) -> Any:
    """An environment variable's text as a value of setting `name`."""
    trait = MLOpsSettings.class_traits()[name]
    text = text.strip()
    if isinstance(trait, List):
        if text.startswith("["):
            return json.loads(text)  # a ValueError says why
        return [part for part in text.replace(",", " ").split() if part]
    if isinstance(trait, Dict):
        if text.startswith("{"):
            return json.loads(text)
        pairs = [part.partition("=") for part in text.split(",") if part.strip()]
        if any(not sep for _k, sep, _v in pairs):
            raise ValueError("give a JSON object or KEY=VALUE pairs separated by commas")
        return {k.strip(): v.strip() for k, _sep, v in pairs}
    if isinstance(trait, Bool):
        lowered = text.lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(f"must be true or false (got {text!r})")
        return lowered in ("1", "true", "yes")
    if isinstance(trait, Int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be a whole number (got {text!r})") from None
    return text


def env_layers(environ: Mapping[str, str], server_seen: Mapping[str, str | None] | None = None) -> list[Layer]:
    """The settings in environment variables, one layer per variable (a setting's first-named
    variable wins). With `server_seen` (the server's view of them), only variables set or
    changed since the server handed its settings down count."""
    layers = []
    for name in NAMES:
        for var in reversed(MLOpsSettings.class_traits()[name].metadata.get("env", ())):
            text = environ.get(var)
            if not text or (server_seen is not None and server_seen.get(var) == text):
                continue
            try:
                value = _env_value(name, text)
            except ValueError as exc:
                raise InvalidInput(f"{name}: {exc} (from environment {var})", field=name) from None
            layers.append(Layer(f"environment {var}", {name: value}))
    return layers


def server_layer(text: str) -> tuple[Layer, Mapping[str, str | None]]:
    """The settings a server handed down in `SERVER_SETTINGS_ENV`, and its view of the variables."""
    try:
        data = json.loads(text)
        settings = {k: v for k, v in data["settings"].items() if k in NAMES}
        values = {k: v["value"] for k, v in settings.items()}
        sources = {k: f"server ({v['source']})" for k, v in settings.items()}
        seen = dict(data.get("environ") or {})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"config: ${SERVER_SETTINGS_ENV} is not what a server writes ({exc})", field="config"
        ) from None
    return Layer("server", values, sources), seen


# -- resolving -------------------------------------------------------------------------------
def resolve(
    config: Sequence[Layer] = (),
    overrides: Sequence[Layer] = (),
    *,
    default_root: Callable[[], Path] | None = None,
    root_source: str = ROOT_SOURCE,
    read_workspace: bool = False,
) -> Settings:
    """Apply the `config` layers (files), then the workspace's own config file (with
    `read_workspace`), then the `overrides` (environment, server, arguments), each lowest
    priority first, over the defaults. Every value is checked by its trait: a bad one is
    InvalidInput naming the setting and where it was set."""
    holder = MLOpsSettings()
    origins: dict[str, str] = {}

    def apply(layer: Layer, only: str | None = None) -> None:
        for name, raw in layer.values.items():
            if only is not None and name != only:
                continue
            source = layer.sources.get(name, layer.source)
            try:
                if isinstance(raw, LazyConfigValue):  # `c.MLOpsApp.protected_packages.append(...)`
                    raw = raw.get_value(getattr(holder, name))
                elif isinstance(raw, DeferredConfig):  # a value from a command line
                    raw = raw.get_value(holder.traits()[name])
                setattr(holder, name, raw)
            except (TraitError, ValueError, TypeError) as exc:
                raise InvalidInput(f"{name}: {_why(exc)} (from {source})", field=name) from None
            origins[name] = source

    for layer in [*config, *overrides]:  # the workspace first: it says where the workspace's own file is
        apply(layer, only="workspace_dir")
    if holder.workspace_dir:
        root = Path(holder.workspace_dir).expanduser().resolve()
    else:
        root = (default_root or find_root)()
        origins["workspace_dir"] = root_source
    local = workspace_layer(root) if read_workspace else None
    for layer in [*config, *([local] if local else []), *overrides]:
        apply(layer)
    if not holder.workspace_dir:
        origins["workspace_dir"] = root_source
    db_url = holder.db_url or f"sqlite:///{root / STATE_DIRNAME / 'mlops.db'}"
    models = _under(root, holder.models_dir) if holder.models_dir else root / "models"
    return Settings(
        workspace=Workspace(root=root, db_url=db_url, models_dir=models),
        protected_packages=tuple(holder.protected_packages),
        hf_endpoint=holder.hf_endpoint.rstrip("/"),
        download_disk_margin=holder.download_disk_margin,
        docker_host=holder.docker_host,
        build_base_images=dict(holder.build_base_images),
        mlflow_tracking_uri=holder.mlflow_tracking_uri,
        s3_endpoint_url=holder.s3_endpoint_url,
        s3_region=holder.s3_region,
        s3_addressing_style=holder.s3_addressing_style,
        s3_profile=holder.s3_profile,
        max_jobs=holder.max_jobs,
        run_worker=holder.run_worker,
        extra_roots=tuple(_under(root, p) for p in holder.extra_roots),
        allowed_pythons=tuple(_under(root, p, follow_links=False) for p in holder.allowed_pythons),
        max_body_bytes=holder.max_body_bytes,
        policy=Policy(dict(holder.roles), holder.default_role, tuple(holder.protected_aliases)),
        origins=origins,
    )


def _under(root: Path, value: str, *, follow_links: bool = True) -> Path:
    """`value` as an absolute path: `~` expanded, relative to the workspace `root`, normalized,
    and with `follow_links` its symlinks resolved (so roots compare with resolved request
    paths; a venv's `bin/python` is a link that must stay itself)."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else root / path
    return path.resolve() if follow_links else Path(os.path.normpath(path))


#: traitlets' wording of a bad value, and ours (naming the rule and the value).
_TRAIT_MESSAGES = (
    (r"expected an int, not the \w+ (.*)\.$", r"must be a whole number (got \1)"),
    (r"expected a boolean, not the \w+ (.*)\.$", r"must be true or false (got \1)"),
    (r"expected a unicode string, not the \w+ (.*)\.$", r"must be a string (got \1)"),
    (r"expected a dict, not the \w+ (.*)\.$", r"must be an object of strings (got \1)"),
    (r"expected a list, not the \w+ (.*)\.$", r"must be a list of strings (got \1)"),
    (r"should not be less than (\S+), but a value of (\S+) was specified", r"must be at least \1 (got \2)"),
    (r"should not be greater than (\S+), but a value of (\S+) was specified", r"must be at most \1 (got \2)"),
    (r"must be a unicode string, but a value of (.*) <class .*> was specified", r"must hold strings (got \1)"),
)


def _why(exc: Exception) -> str:
    """A trait error's first line as a rule and the value that broke it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for pattern, replacement in _TRAIT_MESSAGES:
        found = re.search(pattern, text)
        if found:
            return found.expand(replacement)
    return re.sub(r"^The (value of the )?'\w+' trait of an? MLOpsSettings instance ", "", text)


def load_settings(
    explicit: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_paths: Sequence[str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """The effective settings of a kernel or the CLI: `explicit` values (None ones skipped)
    over the environment (in a kernel the server started: over the server's hand-down)
    over the config files over the defaults."""
    environ = os.environ if environ is None else environ
    overrides: list[Layer] = []
    seen: Mapping[str, str | None] | None = None
    handed = environ.get(SERVER_SETTINGS_ENV)
    if handed:
        server, seen = server_layer(handed)
        overrides.append(server)
    overrides += env_layers(environ, seen)
    given = {k: str(v) if isinstance(v, Path) else v for k, v in (explicit or {}).items() if v is not None}
    unknown = sorted(set(given) - set(NAMES))
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not a setting; the settings are {', '.join(NAMES)}", field=unknown[0])
    if given:
        overrides.append(Layer("argument", given))
    here = (cwd or Path.cwd()).resolve()
    return resolve(file_layers(config_paths), overrides, default_root=lambda: find_root(here), read_workspace=True)


def server_settings(app: Any) -> Settings:
    """The server's effective settings (`app` is the MLOpsApp): its command line over the
    environment over its configuration (config files, or the config the code that started
    it passed in) over the defaults; the default workspace is the server's root_dir."""
    serverapp = app.serverapp
    cli = {**_sections(serverapp.cli_config), **_sections(app.cli_config)}
    files = file_layers(app.config_file_paths)
    from_files: dict[str, Any] = {}
    for layer in files:
        from_files.update(layer.values)
    extra = {
        k: v
        for k, v in _sections(app.config).items()
        if k not in cli and (k not in from_files or not _same(from_files[k], v))
    }
    config = [*files, *([Layer("server configuration", extra)] if extra else [])]
    overrides = [*env_layers(os.environ), *([Layer("command line", cli)] if cli else [])]
    return resolve(
        config,
        overrides,
        default_root=lambda: Path(serverapp.root_dir).resolve(),
        root_source="default (the server's root_dir)",
        read_workspace=True,
    )


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False
