"""The registry service on a real SQLite file and a real PostgreSQL database, without the
server: identities that survive a restart, racing writers, ordering of lists, and the field
rules' JSON Schema."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jupyter_mlops.errors import Conflict, InvalidInput, MLOpsError, NotFound
from jupyter_mlops.fields import INT64_MAX, Field
from jupyter_mlops.paging import decode_cursor, encode_cursor
from jupyter_mlops.registry import rules
from jupyter_mlops.services import Services
from jupyter_mlops.store import engine as store_engine
from jupyter_mlops.config import Settings

pytestmark = pytest.mark.both_stores


def _model(services: Services, name: str = "m1") -> dict[str, Any]:
    return services.registry.create_model({"name": name, "storage_path": f"/data/{name}"}, "tester")


def _release(services: Services, name: str = "m1", version: str = "1", **more: Any) -> dict[str, Any]:
    return services.registry.create_release({"model": name, "version": version, **more}, "tester")


def _reopen(services: Services, workspace: Path) -> Services:
    """Close the store and open the same database again, as a server restart would."""
    services.store.dispose()
    store_engine._stores.pop(services.store.url, None)
    return Services(Settings.of(workspace, db_url=services.store.url))


def test_release_ids_are_not_reused_across_a_restart(services: Services, workspace: Path) -> None:
    _model(services)
    ids = [_release(services, version=v)["id"] for v in ("1", "2")]
    services.registry.delete_release(ids[-1], "tester")
    again = _reopen(services, workspace)
    try:
        assert _release(again, version="2")["id"] > max(ids)
        again.registry.delete_model("m1", "tester", cascade=True)
        _model(again)
        assert _release(again, version="1")["id"] > max(ids) + 1
    finally:
        again.store.dispose()
        store_engine._stores.pop(again.store.url, None)


@pytest.mark.parametrize("kind", ["model", "release", "promote"])
def test_racing_writers_make_one_change(services: Services, kind: str) -> None:
    """Eight threads create the same thing, or promote the same candidate, at once: one wins,
    the rest get Conflict (each checks by reading first; writers queue, on both stores)."""
    if kind != "model":
        _model(services)
    if kind == "promote":
        rid = _release(services)["id"]
    create = {"model": lambda: _model(services, "racer"), "release": lambda: _release(services, version="7"),
              "promote": lambda: services.registry.transition(rid, "promote", "tester")}[kind]
    barrier, results = threading.Barrier(8), []

    def run() -> None:
        barrier.wait()
        try:
            results.append(create())
        except MLOpsError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1 and all(isinstance(r, Conflict) for r in results if r not in wins), results
    field = {"model": "name", "release": "version", "promote": None}[kind]
    assert {r.field for r in results if isinstance(r, Conflict)} == {field}
    entity, action = ("release", "promote") if kind == "promote" else (kind, "create")
    assert len(services.registry.audit(entity_type=entity, action=action)["items"]) == 1


def test_aliases_list_by_model_then_alias(services: Services) -> None:
    names = ["a", "a-b", "a.b", "a_b", "ab"]
    for name in names:
        _model(services, name)
        rid = _release(services, name)["id"]
        for alias in ("z", "prod", "a-1"):
            services.registry.set_alias(name, alias, {"release_id": rid}, "tester")
    expected = [(n, a) for n in sorted(names) for a in sorted(("z", "prod", "a-1"))]
    walked, cursor = [], None
    while True:
        got = services.registry.list_aliases(limit=4, cursor=cursor)
        walked += [(i["model"], i["alias"]) for i in got["items"]]
        if not (cursor := got["next_cursor"]):
            break
    assert walked == expected


def test_transition_refuses_unknown_action(services: Services) -> None:
    _model(services)
    rid = _release(services)["id"]
    with pytest.raises(InvalidInput) as err:
        services.registry.transition(rid, "publish", "tester")
    assert err.value.field == "action"
    with pytest.raises(NotFound):
        services.registry.transition(rid + 1, "promote", "tester")


def test_audit_keeps_the_actor_and_a_deleted_model(services: Services) -> None:
    _model(services)
    services.registry.update_model("m1", {"tags": ["b", "a", "b"]}, "bob")
    services.registry.delete_model("m1", "carol")
    events = services.registry.audit(model="m1")["items"]
    assert [(e["actor"], e["action"]) for e in events] == [("carol", "delete"), ("bob", "update"),
                                                           ("tester", "create")]
    assert events[1]["after"]["tags"] == ["a", "b"]
    with pytest.raises(NotFound):
        services.registry.get_model("m1")


# -- the rules and their JSON Schema ------------------------------------------------------

SHAPES = {"model": rules.MODEL, "release": rules.RELEASE, "artifact": rules.ARTIFACT,
          "deployment": rules.DEPLOYMENT, "alias": rules.ALIAS_TARGET}
SAMPLES = {
    rules.NAME: (["m1", "Llama-3.1-8B", "a_b.c", "x" * 100], ["../x", "a b", "", "x" * 101, "-x", "x."]),
    rules.VERSION: (["1", "1.2", "v2.0.0-rc1", "2024.05.01"], ["", "latest", "1..2", "../1"]),
    rules.QUANTIZATION: (["none", "int4", "gguf", "gguf-q4_k_m", "Q4_K_M", "exl2-4.0bpw", "my-label+v2"],
                         ["gguf-", "", "q4 k m", "-x", "x/y", "int8.", "q" * 65]),
    rules.TAG: (["llm", "license=mit", "task:chat"], ["", "a b", "-x"]),
    rules.ALIAS: (["production", "staging-2"], ["1abc", "", "a b"]),
}


@pytest.mark.parametrize("rule", list(SAMPLES), ids=["name", "version", "quantization", "tag", "alias"])
def test_schema_pattern_agrees_with_the_check(rule: Field) -> None:
    good, bad = SAMPLES[rule]
    schema = rule.json_schema()
    for value in good:
        assert rule.clean("f", value) is not None
        jsonschema.validate(value, schema)
    for value in bad:
        if rule.check is not None and rule._regex is not None and rule._regex.fullmatch(value):
            continue  # refused by a check the schema cannot say (such as a trailing '.')
        with pytest.raises(InvalidInput):
            rule.clean("f", value)
        assert not jsonschema.Draft202012Validator(schema).is_valid(value), value


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_integers_are_bounded_in_check_and_schema(shape: Any) -> None:
    for name, rule in shape.fields.items():
        if rule.type != "integer":
            continue
        schema = rule.json_schema()
        assert schema["minimum"] >= -(2**63) and schema["maximum"] <= INT64_MAX, name
        with pytest.raises(InvalidInput):
            rule.clean(name, INT64_MAX + 1)
        assert not jsonschema.Draft202012Validator(schema).is_valid(INT64_MAX + 1)


def test_zero_minimum_is_published() -> None:
    assert rules.MODEL_FIELDS["parameter_count"].json_schema()["minimum"] == 0
    assert rules.ARTIFACT_FIELDS["size"].json_schema()["minimum"] == 0


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_update_schema_needs_a_field(shape: Any) -> None:
    if not shape.updatable:
        return
    assert not jsonschema.Draft202012Validator(shape.update_schema()).is_valid({})
    with pytest.raises(InvalidInput):
        shape.for_update({})


@pytest.mark.parametrize(("value", "kind"), [(5, str), ("m1", int), (True, int), (1.5, int), (2**63, int),
                                             (None, int), ([1], int)])
def test_cursor_of_the_wrong_kind_is_refused(value: Any, kind: type) -> None:
    with pytest.raises(InvalidInput) as err:
        decode_cursor(encode_cursor(value, "releases.id"), kind, "releases.id")
    assert err.value.field == "cursor"


def test_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(InvalidInput, match="cursor: is not a cursor of this list"):
        decode_cursor(encode_cursor(5, "jobs.id"), int, "releases.id")


@pytest.mark.parametrize(("value", "kind"), [(5, int), ("m1", str), (INT64_MAX, int)])
def test_cursor_round_trip(value: Any, kind: type) -> None:
    assert decode_cursor(encode_cursor(value, "releases.id"), kind, "releases.id") == value
