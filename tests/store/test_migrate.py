"""The store's schema is kept by Alembic: fresh stores and stores made before it reach head."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tunesmith.review import queue as review
from tunesmith.store import migrate
from tunesmith.store.db import api_keys, interactions, metadata, open_store, ratings, reading
from tunesmith.store.keys import create_key, list_keys

BEFORE_ALEMBIC = Path(__file__).parents[1] / "assets" / "store_before_alembic.sql"


def _old_store(path: Path, *drop: tuple[str, str]) -> str:
    raw = sqlite3.connect(path)
    raw.executescript(BEFORE_ALEMBIC.read_text(encoding="utf-8"))
    for table, column in drop:  # what a still earlier release lacked
        raw.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    raw.commit()
    raw.close()
    return f"sqlite:///{path}"


def test_a_fresh_store_is_at_head_and_matches_the_tables(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    with reading(engine) as conn:
        assert migrate.current(conn) == migrate.head()
        # the migrations build exactly the tables tunesmith.store.db declares
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_store_made_before_alembic_keeps_its_rows_and_reaches_head(tmp_path: Path) -> None:
    url = _old_store(tmp_path / "state.db")
    engine = open_store(url)
    with reading(engine) as conn:
        assert migrate.current(conn) == migrate.head()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        row = conn.execute(sa.select(interactions)).one()
        assert row.id == "i-1" and row.label == "billing" and row.flags == []
        assert row.messages == [{"role": "user", "content": "My invoice is wrong"}]
        assert conn.execute(sa.select(ratings.c.rating)).scalar_one() == "down"
        key = conn.execute(sa.select(api_keys)).one()
        assert key.name == "app" and key.models == ["*"] and key.rate is None
        assert key.groups is None  # a key made before groups has none stored
    assert [k.groups for k in list_keys(engine)] == [[]]
    assert review.decided_items(engine)[0].decided_by == "alice"
    assert review.counts(engine)["accept"] == 1
    open_store(url)  # opening again changes nothing
    with reading(engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(interactions)).scalar() == 1


def test_a_store_at_0002_gains_key_groups_and_keeps_its_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = open_store(url)
    create_key(engine, "app", ["*"], "ci", rate="2/second", groups=["hr"])
    with engine.begin() as conn:  # back to the release before groups
        command.downgrade(migrate.alembic_config(conn), "0002")
    with reading(engine) as conn:
        assert "groups" not in {c["name"] for c in sa.inspect(conn).get_columns("api_keys")}
    open_store(url)
    with reading(engine) as conn:
        assert migrate.current(conn) == migrate.head()
    assert [(k.name, k.rate, k.groups) for k in list_keys(engine)] == [("app", "2/second", [])]


def test_a_store_at_0003_gains_the_retrieval_record_of_interactions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0003")
    with reading(engine) as conn:
        assert "retrieval" not in {c["name"] for c in sa.inspect(conn).get_columns("interactions")}
    open_store(url)
    with reading(engine) as conn:
        assert migrate.current(conn) == migrate.head()
        assert "retrieval" in {c["name"] for c in sa.inspect(conn).get_columns("interactions")}


def test_a_store_at_0004_gains_the_tools_of_interactions(tmp_path: Path) -> None:
    url = _old_store(tmp_path / "state.db")
    engine = open_store(url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0004")
    with reading(engine) as conn:
        assert "tools" not in {c["name"] for c in sa.inspect(conn).get_columns("interactions")}
    open_store(url)
    with reading(engine) as conn:
        assert migrate.current(conn) == migrate.head()
        row = conn.execute(sa.select(interactions)).one()
        # an interaction stored before keeps its answer and has no tool list
        assert row.id == "i-1" and row.tools is None and row.label == "billing"


def test_an_earlier_release_gains_its_missing_nullable_columns(tmp_path: Path) -> None:
    url = _old_store(tmp_path / "state.db", ("interactions", "flags"), ("choice_items", "ai_pick"))
    engine = open_store(url)
    with reading(engine) as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(sa.select(interactions.c.flags)).scalar_one() is None


def test_a_table_column_without_a_migration_is_refused(tmp_path: Path, monkeypatch) -> None:
    open_store(f"sqlite:///{tmp_path / 'state.db'}")
    ahead = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(ahead)
    ahead.tables["interactions"].append_column(sa.Column("added_later", sa.String(8)))
    monkeypatch.setattr(migrate, "metadata", ahead)
    with pytest.raises(migrate.SchemaError, match=r"interactions\.added_later"):
        open_store(f"sqlite:///{tmp_path / 'state.db'}")
