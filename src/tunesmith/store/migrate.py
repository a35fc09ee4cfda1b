"""The state store's schema, kept by Alembic migrations that run when a store is opened.

A change to the tables in tunesmith.store.db needs a revision under migrations/versions/:
`alembic.command.revision(alembic_config(conn), "what changed", autogenerate=True)`, with
`conn` open on a store at the previous head, writes one from the difference (check it by hand).
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from tunesmith.store.db import metadata, reading


class SchemaError(RuntimeError):
    """The store's tables differ from the ones this tunesmith reads and writes."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """A Config without alembic.ini: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", "tunesmith.store:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the store to the newest revision; a store already there costs one read."""
    with reading(engine) as conn:
        at_head = current(conn) == head()
    if not at_head:
        # the write lock first: processes opening one store at once migrate it once
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    with reading(engine) as conn:
        missing = _missing_columns(conn)
    if missing:
        raise SchemaError(
            f"the state store lacks {', '.join(missing)}: tunesmith.store.db defines them but "
            "no migration adds them; add an Alembic revision (see tunesmith.store.migrate)"
        )


def _missing_columns(conn: sa.Connection) -> list[str]:
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    out = []
    for table in metadata.sorted_tables:
        columns = inspector.get_columns(table.name) if table.name in tables else []
        have = {c["name"] for c in columns}
        out += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return out
