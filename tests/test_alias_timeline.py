"""The alias timeline, `as_of` and rollback in the registry service, on the real store:
every target an alias had (set, move, delete, rollback, import), the registry as it was
between those moves, and rollbacks that refuse without changing anything."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from schema_support import check_answer

from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.registry.importing import ImportedModel, ImportedRelease, apply_import
from jupyter_mlops.services import Services

pytestmark = pytest.mark.both_stores


def now() -> str:
    """A time strictly between the write before and the write after."""
    time.sleep(0.005)
    stamp = datetime.now(timezone.utc).isoformat()
    time.sleep(0.005)
    return stamp


def history(services: Services, model: str = "m1", **kw: Any) -> list[tuple[str, str, int | None, int | None]]:
    items = services.registry.alias_history(model, **kw)["items"]
    return [(e["alias"], e["action"], e["previous_release_id"], e["release_id"]) for e in reversed(items)]


@pytest.fixture
def three(services: Services) -> list[int]:
    """Model m1 with releases 1.0, 2.0 and 3.0; their ids."""
    services.registry.create_model({"name": "m1", "storage_path": "/data/m1"}, "alice")
    return [services.registry.create_release({"model": "m1", "version": v}, "alice")["id"]
            for v in ("1.0", "2.0", "3.0")]


def test_the_timeline_holds_every_target_who_and_when(services: Services, three: list[int]) -> None:
    r1, r2, r3 = three
    reg = services.registry
    reg.set_alias("m1", "production", {"release_id": r1}, "alice")
    reg.set_alias("m1", "production", {"release_id": r2}, "bob")
    reg.set_alias("m1", "staging", {"release_id": r3}, "carol")
    reg.set_alias("m1", "production", {"release_id": r3}, "bob")
    event = reg.rollback_alias("m1", "production", "dave")
    assert (event["action"], event["previous_release_id"], event["release_id"], event["version"]) == (
        "rollback", r3, r2, "2.0")
    reg.delete_alias("m1", "staging", "erin")
    assert history(services) == [
        ("production", "set", None, r1), ("production", "move", r1, r2), ("staging", "set", None, r3),
        ("production", "move", r2, r3), ("production", "rollback", r3, r2), ("staging", "delete", r3, None)]
    items = reg.alias_history("m1", alias="production")["items"]
    assert [e["actor"] for e in items] == ["dave", "bob", "bob", "alice"]
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in items)
    # the audit history says the same, the rollback as its own action
    audit = reg.audit(model="m1", entity_type="alias")["items"]
    assert [a["action"] for a in audit][:2] == ["delete_alias", "rollback_alias"]
    assert audit[1]["before"] == {"alias": "production", "release_id": r3} and audit[1]["after"]["release_id"] == r2
    # pages, newest first
    first = reg.alias_history("m1", limit=4)
    rest = reg.alias_history("m1", limit=4, cursor=first["next_cursor"])
    assert len(first["items"]) == 4 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert first["rollback_to"] == {"production": r1}  # staging is gone: no rollback for it


def test_a_deleted_release_takes_its_aliases_into_the_timeline(services: Services, three: list[int]) -> None:
    r1, r2, _ = three
    reg = services.registry
    reg.set_alias("m1", "production", {"release_id": r1}, "alice")
    reg.set_alias("m1", "production", {"release_id": r2}, "alice")
    reg.delete_release(r2, "bob")
    assert history(services)[-1] == ("production", "delete", r2, None)
    # the model deleted too: its timeline is still read by its name
    reg.delete_model("m1", "bob", cascade=True)
    assert [a for a, *_ in history(services)] == ["production"] * 3
    with pytest.raises(NotFound, match="no alias history"):
        reg.alias_history("never-was")


def test_rollback_goes_back_one_target_each_time_and_refuses_at_the_start(
        services: Services, three: list[int]) -> None:
    r1, r2, r3 = three
    reg = services.registry
    reg.set_alias("m1", "production", {"release_id": r1}, "alice")
    with pytest.raises(Conflict, match="no target before release") as refused:
        reg.rollback_alias("m1", "production", "bob")
    assert refused.value.field == "alias"
    assert len(history(services)) == 1  # nothing recorded
    reg.set_alias("m1", "production", {"release_id": r2}, "alice")
    reg.set_alias("m1", "production", {"release_id": r2}, "alice")  # the same again: not a new target
    reg.set_alias("m1", "production", {"release_id": r3}, "alice")
    assert reg.get_alias("m1", "production")["rollback_to"] == r2
    assert reg.rollback_alias("m1", "production", "bob")["release_id"] == r2
    assert reg.get_alias("m1", "production")["rollback_to"] == r1
    assert reg.rollback_alias("m1", "production", "bob")["release_id"] == r1
    assert reg.get_alias("m1", "production")["release"]["id"] == r1
    before = history(services)
    with pytest.raises(Conflict, match="nothing to roll back to"):
        reg.rollback_alias("m1", "production", "bob")
    assert history(services) == before
    with pytest.raises(NotFound, match="no alias 'staging'"):
        reg.rollback_alias("m1", "staging", "bob")
    with pytest.raises(InvalidInput, match="^alias: must start with a letter"):
        reg.rollback_alias("m1", "9bad", "bob")


def test_rollback_to_a_deleted_release_is_refused(services: Services, three: list[int]) -> None:
    r1, r2, r3 = three
    reg = services.registry
    reg.set_alias("m1", "production", {"release_id": r1}, "alice")
    reg.set_alias("m1", "production", {"release_id": r2}, "alice")
    reg.set_alias("m1", "staging", {"release_id": r3}, "alice")
    reg.set_alias("m1", "staging", {"release_id": r1}, "alice")
    reg.delete_release(r3, "alice")  # staging's previous target
    before = history(services)
    with pytest.raises(Conflict, match=f"release {r3}, which was deleted"):
        reg.rollback_alias("m1", "staging", "bob")
    assert history(services) == before and reg.get_alias("m1", "staging")["release"]["id"] == r1


def test_imports_move_aliases_in_the_timeline(services: Services) -> None:
    def spec(aliases: dict[str, str]) -> ImportedModel:
        return ImportedModel(source="mlflow", name="imp", storage_path="models:/imp", metadata={"mlflow": {}},
                             releases=(ImportedRelease("1"), ImportedRelease("2")), aliases=aliases)

    apply_import(services.registry, spec({"champion": "1"}), "importer")
    apply_import(services.registry, spec({"champion": "1"}), "importer")  # unchanged: nothing new
    apply_import(services.registry, spec({"champion": "2"}), "importer")
    ids = {r["version"]: r["id"] for r in services.registry.list_releases(model="imp")["items"]}
    assert history(services, "imp") == [("champion", "import", None, ids["1"]),
                                        ("champion", "import", ids["1"], ids["2"])]
    assert services.registry.rollback_alias("imp", "champion", "bob")["release_id"] == ids["1"]


def test_as_of_between_moves(services: Services) -> None:
    reg = services.registry
    before_model = now()
    reg.create_model({"name": "m1", "storage_path": "/data/m1", "description": "first"}, "alice")
    r1 = reg.create_release({"model": "m1", "version": "1.0"}, "alice")["id"]
    t_created = now()
    reg.set_alias("m1", "production", {"release_id": r1}, "alice")
    reg.transition(r1, "promote", "alice")
    d1 = reg.create_deployment({"release_id": r1, "environment": "prod", "status": "active"}, "alice")["id"]
    t_one = now()
    r2 = reg.create_release({"model": "m1", "version": "2.0"}, "alice")["id"]
    reg.transition(r2, "promote", "alice")
    reg.set_alias("m1", "production", {"release_id": r2}, "bob")
    reg.transition(r1, "demote", "bob")
    reg.update_deployment(d1, {"status": "retired"}, "bob")
    d2 = reg.create_deployment({"release_id": r2, "environment": "prod", "status": "active"}, "bob")["id"]
    reg.update_model("m1", {"description": "second"}, "bob")
    t_two = now()
    reg.rollback_alias("m1", "production", "carol")
    reg.delete_deployment(d2, "carol")
    t_three = now()

    def alias_at(t: str) -> int:
        return reg.get_alias("m1", "production", as_of=t)["release"]["id"]

    assert [alias_at(t) for t in (t_one, t_two, t_three)] == [r1, r2, r1]
    at_one = reg.get_alias("m1", "production", as_of=t_one)
    assert at_one["release"]["status"] == "released" and at_one["as_of"] == t_one
    assert reg.get_alias("m1", "production", as_of=t_two)["release"]["status"] == "released"
    assert reg.get_alias("m1", "production", as_of=t_three)["release"]["status"] == "demoted"  # r1 now

    def statuses(kind: str, t: str, **kw: Any) -> list[tuple[int, str]]:
        lister = reg.list_releases if kind == "releases" else reg.list_deployments
        return [(i["id"], i["status"]) for i in lister(model="m1", as_of=t, **kw)["items"]]

    assert statuses("releases", t_created) == [(r1, "candidate")]
    assert statuses("releases", t_one) == [(r1, "released")]
    assert statuses("releases", t_two) == [(r2, "released"), (r1, "demoted")]
    assert statuses("releases", t_two, status="demoted") == [(r1, "demoted")]
    assert statuses("deployments", t_created) == []
    assert statuses("deployments", t_one) == [(d1, "active")]
    assert statuses("deployments", t_two) == [(d2, "active"), (d1, "retired")]
    assert statuses("deployments", t_three) == [(d1, "retired")]
    assert statuses("deployments", t_two, status="active") == [(d2, "active")]
    # pages of the past, as of now the same as the present
    page = reg.list_releases(model="m1", as_of=t_two, limit=1)
    assert [i["id"] for i in page["items"]] == [r2]
    assert [i["id"] for i in reg.list_releases(model="m1", as_of=t_two, cursor=page["next_cursor"])["items"]] == [r1]
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert reg.list_releases(model="m1", as_of=later) == reg.list_releases(model="m1")
    assert reg.list_deployments(model="m1", as_of=later) == reg.list_deployments(model="m1")
    # the model then: its fields, release count and aliases
    one, two = reg.get_model("m1", as_of=t_one), reg.get_model("m1", as_of=t_two)
    assert (one["description"], one["release_count"], one["aliases"]) == ("first", 1, {"production": r1})
    assert (two["description"], two["release_count"], two["aliases"]) == ("second", 2, {"production": r2})
    now_view = reg.get_model("m1")
    assert reg.get_model("m1", as_of=later) == now_view
    # before the model existed: a clear NotFound, from every reader
    for read in (lambda: reg.get_model("m1", as_of=before_model),
                 lambda: reg.get_alias("m1", "production", as_of=before_model),
                 lambda: reg.list_releases(model="m1", as_of=before_model),
                 lambda: reg.list_deployments(model="m1", as_of=before_model)):
        with pytest.raises(NotFound, match="did not exist at"):
            read()
    with pytest.raises(NotFound, match="had no alias 'production' at"):
        reg.get_alias("m1", "production", as_of=t_created)


def test_as_of_reads_a_deleted_model_and_takes_offsets(services: Services, three: list[int]) -> None:
    reg = services.registry
    reg.set_alias("m1", "production", {"release_id": three[0]}, "alice")
    t = now()
    reg.delete_model("m1", "bob", cascade=True)
    assert reg.get_alias("m1", "production", as_of=t)["release"]["version"] == "1.0"
    with pytest.raises(NotFound, match="did not exist at"):
        reg.get_model("m1", as_of=now())
    # the same instant written with another offset, or as Z
    utc = datetime.fromisoformat(t)
    for spelled in (utc.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
                    utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), utc.replace(tzinfo=None).isoformat()):
        assert reg.get_model("m1", as_of=spelled)["aliases"] == {"production": three[0]}


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z", "2026-05-01T25:00", "0001-01-01T00:00:00+01:00",
                                 "1714557600"])
def test_a_malformed_as_of_names_the_field_and_the_rule(services: Services, three: list[int], bad: str) -> None:
    for read in (lambda: services.registry.get_model("m1", as_of=bad),
                 lambda: services.registry.get_alias("m1", "production", as_of=bad),
                 lambda: services.registry.list_releases(model="m1", as_of=bad)):
        with pytest.raises(InvalidInput, match=r"^as_of: must be an ISO 8601 time") as refused:
            read()
        assert refused.value.field == "as_of"
    with pytest.raises(InvalidInput, match="^as_of: needs model"):
        services.registry.list_releases(as_of="2026-01-01T00:00:00Z")


def test_the_migration_fills_the_timeline_from_the_audit_history(tmp_path: Path) -> None:
    """A store at 0006 whose audit history holds alias changes (set, move, import, delete):
    upgraded, each becomes a timeline entry, and as_of and rollback read them."""
    from jupyter_mlops.registry import Registry
    from jupyter_mlops.store import Store
    from jupyter_mlops.store import engine as store_engine

    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    store = Store(url)
    store.upgrade("0006_open_quantization_runs")
    # times bound as the store binds them (SQLite compares its text form)
    def TIME(name: str) -> sa.BindParameter[Any]:  # noqa: N802
        return sa.bindparam(name, type_=sa.DateTime())

    t0 = datetime(2026, 1, 1, 9, 0, 0)
    at = [t0 + timedelta(hours=h) for h in range(6)]
    audit = sa.text("INSERT INTO audit_events (at, actor, action, entity_type, entity_id, model_id, before, after)"
                    " VALUES (:at, :actor, :action, :type, :eid, 1, :before, :after)").bindparams(TIME("at"))

    def rel(rid: int, version: str) -> dict[str, Any]:
        return {"id": rid, "model": "m1", "model_id": 1, "version": version, "quantization": "none",
                "release_notes": None, "status": "candidate", "metadata": {}, "auto_build": False,
                "created_at": at[0].isoformat(), "updated_at": at[0].isoformat()}

    def alias(rid: int | None) -> str | None:
        return None if rid is None else json.dumps({"model": "m1", "alias": "prod", "release_id": rid})

    with store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO models (id, name, storage_path, metadata, created_at, updated_at)"
                             " VALUES (1, 'm1', '/d', '{}', :t, :t)").bindparams(TIME("t")), {"t": at[0]})
        conn.execute(sa.text("INSERT INTO releases (id, model_id, version, quantization, status, metadata,"
                             " auto_build, created_at, updated_at) VALUES (1, 1, '1', 'none', 'candidate', '{}',"
                             " false, :t, :t), (2, 1, '2', 'none', 'candidate', '{}', false, :t, :t)").bindparams(TIME("t")),
                     {"t": at[0]})
        conn.execute(sa.text("INSERT INTO aliases (model_id, name, release_id, updated_at)"
                             " VALUES (1, 'prod', 2, :t)").bindparams(TIME("t")), {"t": at[4]})
        model = {"id": 1, "name": "m1", "storage_path": "/d", "created_at": at[0].isoformat(),
                 "updated_at": at[0].isoformat()}  # a view of old: fields it lacks get their defaults
        conn.execute(audit, [
            {"at": at[0], "actor": "alice", "action": "create", "type": "model", "eid": "m1", "before": None,
             "after": json.dumps(model)},
            *({"at": at[0], "actor": "alice", "action": "create", "type": "release", "eid": str(i), "before": None,
               "after": json.dumps(rel(i, str(i)))} for i in (1, 2)),
            {"at": at[1], "actor": "alice", "action": "set_alias", "type": "alias", "eid": "m1@prod",
             "before": None, "after": alias(1)},
            {"at": at[2], "actor": "bob", "action": "set_alias", "type": "alias", "eid": "m1@prod",
             "before": json.dumps({"alias": "prod", "release_id": 1}), "after": alias(2)},
            {"at": at[3], "actor": "carol", "action": "delete_alias", "type": "alias", "eid": "m1@prod",
             "before": json.dumps({"alias": "prod", "release_id": 2}), "after": None},
            {"at": at[4], "actor": "mlflow", "action": "import", "type": "alias", "eid": "m1@prod",
             "before": None, "after": alias(2)},
        ])
    store.upgrade()
    assert store.current_revision() == store_engine.HEAD_REVISION
    reg = Registry(store)
    got = reg.alias_history("m1")
    assert [(e["action"], e["previous_release_id"], e["release_id"], e["actor"], e["at"])
            for e in reversed(got["items"])] == [
        ("set", None, 1, "alice", "2026-01-01T10:00:00+00:00"), ("move", 1, 2, "bob", "2026-01-01T11:00:00+00:00"),
        ("delete", 2, None, "carol", "2026-01-01T12:00:00+00:00"),
        ("import", None, 2, "mlflow", "2026-01-01T13:00:00+00:00")]
    assert got["rollback_to"] == {"prod": 1}
    assert reg.get_alias("m1", "prod", as_of="2026-01-01T10:30:00Z")["release"]["id"] == 1
    assert reg.get_alias("m1", "prod", as_of="2026-01-01T13:30:00+02:00")["release"]["id"] == 2  # 11:30 UTC
    with pytest.raises(NotFound):
        reg.get_alias("m1", "prod", as_of="2026-01-01T12:30:00Z")
    # answers rebuilt from rows older than today's views still have today's shape
    check_answer("GET", "models/m1", 200, reg.get_model("m1", as_of="2026-01-01T10:30:00Z"))
    check_answer("GET", "aliases/m1/prod", 200, reg.get_alias("m1", "prod", as_of="2026-01-01T10:30:00Z"))
    check_answer("GET", "releases", 200, reg.list_releases(model="m1", as_of="2026-01-01T10:30:00Z"))
    assert reg.rollback_alias("m1", "prod", "dave")["release_id"] == 1
    store.dispose()
