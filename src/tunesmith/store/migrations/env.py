"""Alembic's environment: migrations run on the connection that `tunesmith.store.migrate` opens.

That connection already holds the store's write lock (SQLite: BEGIN IMMEDIATE), so processes
opening one store at once migrate it once and in one transaction.
"""

from alembic import context

from tunesmith.store.db import metadata

connection = context.config.attributes["connection"]
# SQLite alters a table by copying it: batch mode lets later revisions drop or change columns
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
