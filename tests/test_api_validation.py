"""Bad input through the real server: 400/404/409 with a message naming the field,
and the store (a SQLite file, or a PostgreSQL database with its sequences) the same afterwards. Also the OpenAPI document:
valid OpenAPI 3.1, in step with the routes table, the handlers and the server's checks."""
from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import text

from jupyter_mlops.paging import encode_cursor
from jupyter_mlops.server.openapi import ERROR
from jupyter_mlops.server.routes import ROUTES, Route
from jupyter_mlops.store import Store

from test_api_auth import VERBS, sample_path


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    # No worker: its heartbeat would change the `workers` table under the snapshot.
    return {**jp_server_config, "MLOpsApp": {**jp_server_config["MLOpsApp"], "run_worker": False}}


pytestmark = pytest.mark.both_stores


def snapshot(db: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: in the SQLite file (sqlite_sequence and audit_events
    included), or in the PostgreSQL database of URL `db` (with each sequence's last value,
    so a refused INSERT that took an id shows)."""
    if isinstance(db, str):
        store = Store(db)
        try:
            with store.read() as s:
                tables = s.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
                rows = {t: sorted(map(tuple, s.execute(text(f'SELECT * FROM "{t}"')).all()), key=repr)
                        for t in sorted(tables)}
                sequences = s.execute(text("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")).all()
                return {**rows, "<sequences>": [tuple(r) for r in sequences]}
        finally:
            store.dispose()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


@pytest.fixture
def seeded(api: Any, jp_root_dir: Path, jp_asyncio_loop: Any, db_url: str | None) -> Path | str:
    """m1 with release 1 (1.0, alias production, an artifact, a deployment) and a deprecated
    release 2 (2.0); model `other` with release 3. Returns the database file (or URL)."""
    jp_asyncio_loop.run_until_complete(_seed(api))
    if db_url:
        return db_url
    db = jp_root_dir / ".mlops" / "mlops.db"
    assert db.is_file()
    return db


async def _seed(api: Any) -> None:
    calls = [
        ("POST", "models", {"name": "m1", "storage_path": "s3://bucket/m1", "tags": ["llm"]}),
        ("POST", "models", {"name": "other", "storage_path": "/data/other"}),
        ("POST", "releases", {"model": "m1", "version": "1.0"}),
        ("POST", "releases", {"model": "m1", "version": "2.0", "quantization": "int8"}),
        ("POST", "releases", {"model": "other", "version": "1.0"}),
        ("POST", "releases/2/deprecate", None),
        ("PUT", "aliases/m1/production", {"release_id": 1}),
        ("POST", "artifacts", {"release_id": 1, "name": "model.safetensors", "path": "/data/m1/model.safetensors"}),
        ("POST", "deployments", {"release_id": 1, "environment": "staging"}),
    ]
    for method, path, body in calls:
        code, answer = await api(method, path, body)
        assert code in (200, 201), (method, path, answer)


def route_for(path: str) -> Route:
    """The routes-table row serving a concrete path such as `releases/1/promote`."""
    for route in ROUTES:
        if re.fullmatch(route.pattern(), "/" + path.split("?")[0]):
            return route
    raise LookupError(path)


def case(method: str, path: str, body: Any = None, status: int = 400, field: str | None = None, *,
         raw: bytes | None = None, params: dict[str, str] | None = None, schema: bool = False, id: str) -> Any:
    """One bad request. `schema`: the OpenAPI request-body schema must reject the body too."""
    return pytest.param(method, path, body, raw, params or {}, status, field, schema, id=id)


NEW = {"name": "fresh", "storage_path": "/data/fresh"}
REL = {"model": "m1", "version": "3.0"}
ART = {"release_id": 1, "name": "w.bin", "path": "/data/w.bin"}
DEP = {"release_id": 1, "environment": "prod"}
BAD_NAMES = ["../x", "a b", "", "a" * 101, ".hidden", "x/y", "-x", "name.", "ü", "a\x00b", "a;drop"]
BAD_VERSIONS = ["", "latest", "1..2", "../1", "1/2", "v", "1 2", "9" * 65]
BAD_QUANTS = ["gguf-", "gguf q4", "", "none;", "GGUF-Q4 K", "../q4", "q" * 65, "-x", "x/y", "int8.", " int8"]
BAD_PATHS = ["ftp://x", "s3://A_b", "hf://../../etc", "hf://org-", "hf://org/name/extra", "s3://b", "", "   ",
             "/data/\x00x", "file:///etc/passwd", "p" * 1025]

CASES = [
    # -- not JSON, not an object, empty
    case("POST", "models", raw=b"{not json", field="body", id="malformed-json"),
    case("POST", "models", raw=b"\xff\xfe{}", field="body", id="not-utf8"),
    case("POST", "models", raw=b'{"name": "fresh", "storage_path": "/x", "metadata": {"a": NaN}}',
         field="body", id="nan-in-json"),
    case("POST", "models", raw=b"[1, 2]", field="body", schema=True, id="array-body"),
    case("POST", "models", raw=b"null", field="body", schema=True, id="null-body"),
    case("POST", "releases", raw=b'"m1"', field="body", schema=True, id="string-body"),
    case("PATCH", "models/m1", {}, field="body", schema=True, id="empty-update"),
    case("PATCH", "releases/1", raw=b"[]", field="body", schema=True, id="array-update"),
    case("PUT", "aliases/m1/production", raw=b"7", field="body", schema=True, id="number-alias-body"),
    # -- required and unknown fields
    case("POST", "models", {"name": "fresh"}, field="storage_path", schema=True, id="missing-storage-path"),
    case("POST", "releases", {"model": "m1"}, field="version", schema=True, id="missing-version"),
    case("POST", "deployments", {"release_id": 1}, field="environment", schema=True, id="missing-environment"),
    case("POST", "models", {**NEW, "colour": "red"}, field="colour", schema=True, id="unknown-field"),
    case("PATCH", "models/m1", {"name": "renamed"}, field="name", schema=True, id="name-not-updatable"),
    case("POST", "releases", {**REL, "status": "released"}, field="status", schema=True, id="status-not-settable"),
    case("PATCH", "releases/1", {"version": "9"}, field="version", schema=True, id="version-not-updatable"),
    case("PUT", "aliases/m1/production", {"release_id": 1, "x": 1}, field="x", schema=True, id="alias-extra"),
    case("POST", "deployments", {**DEP, "id": 5}, field="id", schema=True, id="deployment-id"),
    case("PATCH", "deployments/1", {"environment": "x"}, field="environment", schema=True, id="env-not-updatable"),
    # -- wrong JSON types
    *[case("POST", "models", {**NEW, key: value}, field=key, schema=True, id=f"type-{key}-{label}")
      for key, value, label in [
          ("parameter_count", "7", "string"), ("parameter_count", True, "bool"), ("parameter_count", 1.5, "float"),
          ("parameter_count", [7], "list"), ("metadata", [], "list"), ("metadata", "x", "string"),
          ("metadata", None, "null"), ("tags", "a,b", "string"), ("tags", {"a": 1}, "object"),
          ("name", 5, "int"), ("name", None, "null"), ("storage_path", ["/x"], "list"),
          ("description", 3, "int"), ("company", False, "bool"),
      ]],
    case("POST", "models", {**NEW, "tags": ["ok", 1]}, field="tags[1]", schema=True, id="type-tag-item"),
    case("POST", "releases", {**REL, "auto_build": "yes"}, field="auto_build", schema=True, id="type-auto-build-str"),
    case("POST", "releases", {**REL, "auto_build": 1}, field="auto_build", schema=True, id="type-auto-build-int"),
    case("POST", "releases", {**REL, "version": 3}, field="version", schema=True, id="type-version-int"),
    case("PATCH", "releases/1", {"metadata": [1]}, field="metadata", schema=True, id="type-release-metadata"),
    case("PUT", "aliases/m1/production", {"release_id": "1"}, field="release_id", schema=True, id="type-alias-str"),
    case("PUT", "aliases/m1/production", {"release_id": True}, field="release_id", schema=True, id="type-alias-bool"),
    # JSON Schema counts 1.0 as an integer, and so does the server; 1.5 is no integer to either
    case("POST", "deployments", {**DEP, "release_id": 1.5}, field="release_id", schema=True, id="type-dep-float"),
    case("POST", "artifacts", {**ART, "size": "10"}, field="size", schema=True, id="type-size-str"),
    # -- numbers out of range (including past what SQLite can store)
    case("POST", "models", {**NEW, "parameter_count": -1}, field="parameter_count", schema=True, id="negative-count"),
    case("POST", "models", {**NEW, "parameter_count": 10**16}, field="parameter_count", schema=True, id="huge-count"),
    case("POST", "artifacts", {**ART, "size": -1}, field="size", schema=True, id="negative-size"),
    case("POST", "artifacts", {**ART, "size": 2**70}, field="size", schema=True, id="size-past-int64"),
    case("POST", "artifacts", {**ART, "release_id": 2**64}, field="release_id", schema=True, id="id-past-int64"),
    case("PUT", "aliases/m1/production", {"release_id": 0}, field="release_id", schema=True, id="alias-zero"),
    case("POST", "deployments", {**DEP, "release_id": 2**63}, field="release_id", schema=True, id="dep-id-past-int64"),
    # -- over-long strings and lists
    *[case("POST", path, {**base, key: "x" * size}, field=key, schema=True, id=f"long-{key}")
      for path, base, key, size in [
          ("models", NEW, "description", 10_001), ("models", NEW, "repository", 1025), ("models", NEW, "company", 201),
          ("models", NEW, "base_model", 201), ("releases", REL, "release_notes", 20_001),
          ("deployments", DEP, "environment", 65), ("deployments", DEP, "notes", 10_001),
          ("deployments", DEP, "endpoint", 1025), ("artifacts", ART, "name", 201),
      ]],
    case("POST", "models", {**NEW, "tags": [f"t{i}" for i in range(51)]}, field="tags", schema=True, id="many-tags"),
    case("POST", "models", {**NEW, "tags": ["t" * 65]}, field="tags[0]", schema=True, id="long-tag"),
    case("POST", "models", {**NEW, "tags": ["bad tag"]}, field="tags[0]", schema=True, id="bad-tag"),
    case("POST", "models", {**NEW, "metadata": {"blob": "x" * 70_000}}, field="metadata", id="big-metadata"),
    # -- names, versions, quantizations, storage paths
    *[case("POST", "models", {**NEW, "name": n}, field="name", schema=not n.endswith("."), id=f"name-{n[:12]!r}")
      for n in BAD_NAMES],
    *[case("POST", "releases", {**REL, "model": n}, field="model", schema=not n.endswith("."),
           id=f"release-model-{n[:12]!r}") for n in BAD_NAMES[:4]],
    *[case("POST", "releases", {**REL, "version": v}, field="version", schema=True, id=f"version-{v[:12]!r}")
      for v in BAD_VERSIONS],
    *[case("POST", "releases", {**REL, "quantization": q}, field="quantization", schema=q.lower() == q,
           id=f"quant-{q!r}") for q in BAD_QUANTS],
    *[case("POST", "models", {**NEW, "storage_path": p}, field="storage_path", schema=len(p) > 1024,
           id=f"storage-{p[:20]!r}") for p in BAD_PATHS],
    case("PATCH", "models/m1", {"storage_path": "ftp://x"}, field="storage_path", id="update-storage"),
    case("POST", "artifacts", {**ART, "path": "hf://../../etc"}, field="path", id="artifact-path"),
    case("POST", "artifacts", {**ART, "name": "a/b"}, field="name", schema=True, id="artifact-name-slash"),
    case("POST", "artifacts", {**ART, "kind": "zip"}, field="kind", schema=True, id="artifact-kind"),
    case("POST", "artifacts", {**ART, "sha256": "ABC"}, field="sha256", schema=True, id="artifact-sha"),
    case("POST", "artifacts", {**ART, "model": "m1"}, field="release_id", id="artifact-two-owners"),
    case("POST", "artifacts", {"name": "w.bin", "path": "/w"}, field="release_id", id="artifact-no-owner"),
    case("POST", "deployments", {**DEP, "status": "live"}, field="status", schema=True, id="deployment-status"),
    case("POST", "deployments", {**DEP, "environment": "a b"}, field="environment", schema=True, id="deployment-env"),
    case("PATCH", "deployments/1", {"status": "gone"}, field="status", schema=True, id="deployment-update-status"),
    case("PUT", "aliases/m1/v1", {"release_id": 1}, field="alias", id="alias-version-like"),
    case("PUT", "aliases/m1/1abc", {"release_id": 1}, field="alias", id="alias-leading-digit"),
    case("PUT", "aliases/m1/production", {"release_id": 3}, field="release_id", id="alias-other-model"),
    # -- unknown things
    case("PUT", "aliases/m1/production", {"release_id": 999}, 404, id="alias-unknown-release"),
    case("PUT", "aliases/nope/production", {"release_id": 1}, 404, id="alias-unknown-model"),
    case("POST", "releases", {**REL, "model": "nope"}, 404, id="release-unknown-model"),
    case("POST", "deployments", {**DEP, "release_id": 999}, 404, id="deployment-unknown-release"),
    case("POST", "artifacts", {**ART, "release_id": 999}, 404, id="artifact-unknown-release"),
    case("PATCH", "models/nope", {"description": "x"}, 404, id="update-unknown-model"),
    case("DELETE", "models/nope", None, 404, id="delete-unknown-model"),
    case("DELETE", "releases/999", None, 404, id="delete-unknown-release"),
    case("POST", "releases/999/promote", None, 404, id="promote-unknown"),
    case("DELETE", "aliases/m1/staging", None, 404, id="delete-unknown-alias"),
    case("GET", "releases/99999999999999999999999", None, 404, id="get-release-past-int64"),
    case("DELETE", "artifacts/99999999999999999999999", None, 404, id="delete-artifact-past-int64"),
    case("PATCH", "deployments/99999999999999999999999", {"notes": "x"}, 404, id="patch-deployment-past-int64"),
    case("POST", "jobs/99999999999999999999999/cancel", None, 404, id="cancel-job-past-int64"),
    # -- conflicts with the current state
    case("POST", "models", {"name": "m1", "storage_path": "/x"}, 409, "name", id="duplicate-model"),
    case("POST", "releases", {"model": "m1", "version": "1.0"}, 409, "version", id="duplicate-release-default"),
    case("POST", "releases", {"model": "m1", "version": "1.0", "quantization": "NONE"}, 409, "version",
         id="duplicate-release-case"),
    case("POST", "releases", {"model": "m1", "version": "2.0", "quantization": "int8"}, 409, "version",
         id="duplicate-release-deprecated"),
    case("POST", "releases/1/demote", None, 409, id="demote-candidate"),
    case("POST", "releases/2/deprecate", None, 409, id="deprecate-deprecated"),
    case("POST", "deployments", {"release_id": 2, "environment": "prod"}, 409, id="deploy-deprecated"),
    case("DELETE", "models/m1", None, 409, id="delete-model-with-releases"),
    case("DELETE", "releases/1", None, 409, id="delete-deployed-release"),
    # -- query parameters
    *[case("GET", path, params=params, field=next(iter(params)),
           id=f"query-{path}-{'-'.join(params.values())}"[:60])
      for path, params in [
          ("models", {"limit": "0"}), ("models", {"limit": "501"}), ("models", {"limit": "abc"}),
          ("models", {"limit": "-1"}), ("models", {"limit": "1.5"}), ("releases", {"limit": "0"}),
          ("audit", {"limit": "99999999999999999999999"}), ("models", {"cursor": "garbage!"}),
          ("models", {"cursor": encode_cursor(5, "models.name")}),
          ("releases", {"cursor": encode_cursor("m1", "releases.id")}),
          ("audit", {"cursor": encode_cursor(2**70, "audit_events.id")}),
          ("aliases", {"cursor": encode_cursor(1, "aliases")}),
          ("releases", {"cursor": encode_cursor(1, "jobs.id")}),  # another list's cursor
          ("models", {"cursor": base64.urlsafe_b64encode(b'{"x": 1}').decode()}),  # made up
          ("models", {"cursor": base64.urlsafe_b64encode(b'["models.name"]').decode()}),
          ("jobs", {"cursor": base64.urlsafe_b64encode(b"[" * 5000).decode()}),  # too deep to decode
          ("models", {"colour": "red"}), ("models", {"status": "live"}), ("releases", {"status": "bogus"}),
          ("releases", {"quantization": "q4 k m"}), ("deployments", {"status": "x"}),
          ("artifacts", {"release_id": "abc"}), ("deployments", {"release_id": "1e3"}),
          ("artifacts", {"release_id": "99999999999999999999999"}), ("health", {"x": "1"}),
          ("dashboard", {"verbose": "1"}), ("jobs", {"active": "perhaps"}), ("jobs", {"state": "nope"}),
          ("jobs/1/log", {"after": "-1"}), ("jobs/1/log", {"after": "abc"}),
          ("jobs/1/log", {"after": "99999999999999999999999"}), ("jobs/1/log", {"limit": "0"}),
      ]],
    case("DELETE", "models/m1", params={"cascade": "maybe"}, field="cascade", id="cascade-not-bool"),
    case("POST", "models", NEW, params={"dry_run": "1"}, field="dry_run", id="post-with-unknown-query"),
    case("DELETE", "releases/2", params={"force": "1"}, field="force", id="delete-with-unknown-query"),
]


@pytest.mark.parametrize(("method", "path", "body", "raw", "params", "status", "field", "schema"), CASES)
async def test_bad_request_is_refused_and_changes_nothing(
    api: Any, seeded: Path | str, method: str, path: str, body: Any, raw: bytes | None, params: dict[str, str],
    status: int, field: str | None, schema: bool,
) -> None:
    before = snapshot(seeded)
    code, answer = await api(method, path, body, raw, **params)
    assert code == status, answer
    jsonschema.validate(answer, ERROR)
    if field is not None:
        assert answer["field"] == field, answer
        assert answer["message"].startswith(f"{field}: "), answer
    assert snapshot(seeded) == before
    if schema:  # the published request schema describes the same rule
        op = route_for(path).ops[method.lower()]
        assert op.body is not None
        sent = json.loads(raw) if raw is not None else body
        assert not jsonschema.Draft202012Validator(op.body).is_valid(sent), f"OpenAPI schema accepts {sent!r}"


# -- the OpenAPI document ------------------------------------------------------------------

@pytest.fixture
def document(api: Any, jp_asyncio_loop: Any) -> dict[str, Any]:
    code, doc = jp_asyncio_loop.run_until_complete(api("GET", "openapi.json"))
    assert code == 200, doc
    return doc


def test_openapi_is_valid_3_1(document: dict[str, Any]) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)
    for schema in _schemas(document):
        jsonschema.Draft202012Validator.check_schema(schema)


def _schemas(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in doc["paths"].values():
        for op in item.values():
            found += [p["schema"] for p in op["parameters"]]
            found += [c["schema"] for c in op.get("requestBody", {}).get("content", {}).values()]
            found += [c["schema"] for r in op["responses"].values() for c in r.get("content", {}).values()]
    return found


def test_openapi_matches_routes_and_handlers(document: dict[str, Any], jp_base_url: str) -> None:
    assert document["servers"] == [{"url": f"{jp_base_url.rstrip('/')}/mlops/api"}]
    assert set(document["paths"]) == {route.path for route in ROUTES}
    operation_ids = []
    for route in ROUTES:
        item = document["paths"][route.path]
        implemented = {verb for verb in VERBS if verb in vars(route.handler)}
        assert set(item) == set(route.ops) == implemented, route.path
        for verb, op in route.ops.items():
            spec = item[verb]
            operation_ids.append(spec["operationId"])
            path_params = [p["name"] for p in spec["parameters"] if p["in"] == "path"]
            query_params = {p["name"] for p in spec["parameters"] if p["in"] == "query"}
            assert path_params == route.params
            assert query_params == set(op.query)
            assert str(op.status) in spec["responses"]
            assert ("requestBody" in spec) == (op.body is not None)
            if op.body is not None:
                assert spec["requestBody"]["content"]["application/json"]["schema"] == op.body
            for code in ("400", "403", "404", "409", "503"):
                assert spec["responses"][code]["content"]["application/json"]["schema"] == ERROR
    assert len(operation_ids) == len(set(operation_ids))


CALLS = [pytest.param(route, verb, id=f"{verb.upper()} {route.path}") for route in ROUTES for verb in route.ops]


@pytest.mark.parametrize(("route", "verb"), CALLS)
async def test_server_accepts_exactly_the_documented_query(jp_fetch: Any, seeded: Path | str, route: Route,
                                                           verb: str) -> None:
    """Every documented query parameter is known to the handler; anything else is 400 and changes nothing."""
    before = snapshot(seeded)
    base = sample_path(route).strip("/").split("/")
    body = json.dumps({}) if verb in ("post", "put", "patch") else None
    resp = await jp_fetch("mlops", "api", *base, method=verb.upper(), body=body, raise_error=False,
                          params={"zz_undocumented": "1"})
    answer = json.loads(resp.body)
    assert (resp.code, answer.get("field")) == (400, "zz_undocumented"), answer
    assert snapshot(seeded) == before
    if route.ops[verb].query:
        params = {name: "" for name in route.ops[verb].query}
        resp = await jp_fetch("mlops", "api", *base, method=verb.upper(), body=body, raise_error=False,
                              params=params)
        answer = json.loads(resp.body) if resp.body else {}
        assert "unknown query parameter" not in str(answer.get("message")), answer
