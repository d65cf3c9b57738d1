"""A small client of an MLflow tracking server's REST API (`/api/2.0/mlflow/...`): the
registered models, their versions and aliases, and runs. Standard library only: MLflow
itself is not needed (nor installed) to read a server."""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from ..config import redact_url
from ..errors import Forbidden, InvalidInput, MLOpsError, NotFound, Unavailable

API = "/api/2.0/mlflow"
TIMEOUT = 30.0
PAGE = 100
#: At most this many pages of one listing are read (a runaway server cannot loop us forever).
MAX_PAGES = 10_000
TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
USER_ENV, PASSWORD_ENV = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
SETTING = "mlflow_tracking_uri"


def credentials(environ: Mapping[str, str] | None = None) -> str | None:
    """The Authorization header MLflow's own client would send, from the environment only:
    a bearer token, else basic auth from a user and password (None: no auth)."""
    environ = os.environ if environ is None else environ
    token = environ.get(TOKEN_ENV)
    if token:
        return f"Bearer {token}"
    user, password = environ.get(USER_ENV), environ.get(PASSWORD_ENV)
    if user and password:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return None


class MlflowClient:
    """Reads one tracking server; every failure is a domain error naming the setting."""

    def __init__(self, uri: str, authorization: str | None = None, *, timeout: float = TIMEOUT) -> None:
        if not uri:
            raise InvalidInput(
                f"{SETTING}: no MLflow tracking server is configured; set the {SETTING} setting "
                "(or $MLFLOW_TRACKING_URI) to its URL",
                field=SETTING,
            )
        # A user and password in the URL are sent as basic auth (urllib would not), as
        # MLflow's own client (requests) does, unless credentials are given.
        parts = urllib.parse.urlsplit(uri.rstrip("/"))
        if parts.username is not None and authorization is None:
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        self.uri = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.shown = redact_url(uri.rstrip("/"))
        self.authorization = authorization
        self.timeout = timeout

    def ui_url(self, fragment: str) -> str:
        """A link into the server's web UI (without the user and password of the setting)."""
        return f"{self.uri}/#/{fragment}"

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        """GET `API/endpoint` with `params`; the JSON answer."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        url = f"{self.uri}{API}/{endpoint}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        where = self.shown
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, where) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unavailable(f"MLflow tracking server at {where} is unreachable: {reason}") from None
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            raise Unavailable(f"MLflow tracking server at {where} answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise Unavailable(f"MLflow tracking server at {where} answered an unexpected {type(answer).__name__}")
        return answer

    def pages(self, endpoint: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item under `key` of a paged listing, following next_page_token."""
        token = None
        for _ in range(MAX_PAGES):
            answer = self.get(endpoint, max_results=PAGE, page_token=token, **params)
            yield from answer.get(key) or []
            token = answer.get("next_page_token")
            if not token:
                return
        raise Unavailable(f"MLflow tracking server at {self.shown}: more than {MAX_PAGES} pages of {key}")

    def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model (each with tags, aliases, description)."""
        return list(self.pages("registered-models/search", "registered_models"))

    def registered_model(self, name: str) -> dict[str, Any]:
        """One registered model by name (NotFound when there is none)."""
        return dict(self.get("registered-models/get", name=name)["registered_model"])

    def model_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of registered model `name`, oldest first."""
        quoted = name.replace("'", "\\'")
        found = list(self.pages("model-versions/search", "model_versions", filter=f"name='{quoted}'"))
        return sorted(found, key=lambda v: int(v["version"]) if str(v.get("version", "")).isdigit() else 0)

    def run(self, run_id: str) -> dict[str, Any]:
        """One run: {info, data: {metrics, params, tags}}."""
        return dict(self.get("runs/get", run_id=run_id)["run"])


def _http_error(exc: urllib.error.HTTPError, where: str) -> MLOpsError:
    try:
        detail = json.loads(exc.read() or b"{}")
    except ValueError:
        detail = {}
    code, message = detail.get("error_code", ""), detail.get("message", "") or exc.reason
    if exc.code in (401, 403):
        return Forbidden(
            f"MLflow tracking server at {where} refused access (HTTP {exc.code}): give a token in "
            f"${TOKEN_ENV} (or ${USER_ENV} and ${PASSWORD_ENV})"
        )
    if exc.code == 404 or code == "RESOURCE_DOES_NOT_EXIST":
        return NotFound(f"MLflow: {message}")
    if exc.code == 400:
        return InvalidInput(f"MLflow refused the request: {message}")
    return Unavailable(f"MLflow tracking server at {where} failed (HTTP {exc.code}): {message}")
