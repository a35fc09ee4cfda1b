"""The state store's tables (SQLAlchemy Core) and the engine that opens them."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()
# execution option of a connection that only reads: on SQLite it takes no write lock
READ_ONLY = "tunesmith_read_only"

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    # sha256 of the secret: keys are 256 random bits, so a fast hash cannot be brute-forced
    sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("models", sa.JSON, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    # written by releases before exact rate windows; read as N/minute when `rate` is empty
    sa.Column("rate_per_minute", sa.Integer, nullable=True),
    sa.Column("rate", sa.String(64), nullable=True),  # "N/second", "N/minute" or "N/hour"
    # knowledge-base access groups; empty on keys made before groups, which are read as []
    sa.Column("groups", sa.JSON, nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", sa.String(32), nullable=True),
    # whose end users' memory the key reads and writes; null: no memory
    sa.Column("tenant", sa.String(64), nullable=True),
)

interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("key_name", sa.String(128), nullable=False),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("run_id", sa.String(128), nullable=True),
    sa.Column("registry_name", sa.String(128), nullable=True),
    sa.Column("registry_version", sa.Integer, nullable=True),
    sa.Column("messages", sa.JSON, nullable=False),
    sa.Column("choices", sa.JSON, nullable=False),
    sa.Column("finish_reason", sa.String(32), nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("ttft_ms", sa.Float, nullable=True),
    sa.Column("mean_logprob", sa.Float, nullable=True),
    sa.Column("label", sa.String(128), nullable=True),
    sa.Column("label_margin", sa.Float, nullable=True),
    sa.Column("pii_masked", sa.Boolean, nullable=False),
    sa.Column("stream", sa.Boolean, nullable=False),
    # rules that fired on the answer: schema_invalid, pii_in_output, no_label
    sa.Column("flags", sa.JSON, nullable=True),
    # knowledge chunks the answer was given from: index version, chunk ids and scores
    sa.Column("retrieval", sa.JSON(none_as_null=True), nullable=True),
    # the tools the request offered (function schemas, never masked); null: none offered
    sa.Column("tools", sa.JSON(none_as_null=True), nullable=True),
    # a workflow's steps (serve.workflows): model, run, output summary, latency; null: no workflow
    sa.Column("trace", sa.JSON(none_as_null=True), nullable=True),
    # the memories the answer was given (ids, kinds, scores; never their text); null: none
    sa.Column("memory", sa.JSON(none_as_null=True), nullable=True),
)

# a caller's verdict on an answer it received (thumbs up / down)
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interaction_id", sa.String(40), nullable=False, index=True),
    sa.Column("key_name", sa.String(128), nullable=False),
    sa.Column("rating", sa.String(8), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# interactions waiting for, or decided by, a human reviewer
review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interaction_id", sa.String(40), nullable=False, unique=True),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    # lower is reviewed first (the label margin; audit samples last)
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("enqueued_at", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claim_expires", sa.String(32), nullable=True),
    sa.Column("decision", sa.String(16), nullable=True),
    sa.Column("correction", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("decided_by", sa.String(128), nullable=True),
    sa.Column("decided_at", sa.String(32), nullable=True),
)

# two answers to one prompt, waiting for (or decided by) a reviewer's pick of the better one
choice_items = sa.Table(
    "choice_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # sha256 of the prompt and both answers (in either order): a pair is queued once
    sa.Column("pair_key", sa.String(64), nullable=False, unique=True),
    sa.Column("prompt", sa.JSON, nullable=False),
    sa.Column("answer_a", sa.Text, nullable=False),
    sa.Column("answer_b", sa.Text, nullable=False),
    # the pair's file and line, e.g. preferences/<id>/pairs.jsonl:12
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("model", sa.String(256), nullable=True),
    sa.Column("run_id", sa.String(128), nullable=True),
    # the side the AI judge preferred ("a" | "b"; null: no AI pick); never shown to a reviewer
    sa.Column("ai_pick", sa.String(1), nullable=True),
    sa.Column("enqueued_at", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claim_expires", sa.String(32), nullable=True),
    sa.Column("choice", sa.String(8), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("decided_by", sa.String(128), nullable=True),
    sa.Column("decided_at", sa.String(32), nullable=True),
)

# what a served model remembers of an end user (memory:), scoped to (tenant, end_user):
# earlier turns (episodes) and facts, each with its unit embedding as float32 bytes
memory_episodes = sa.Table(
    "memory_episodes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("end_user", sa.String(256), nullable=False),
    sa.Column("interaction_id", sa.String(40), nullable=False),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),  # masked as memory.pii says
    sa.Column("embedding_model", sa.String(256), nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Index("ix_memory_episodes_scope", "tenant", "end_user"),
)

memory_facts = sa.Table(
    "memory_facts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("end_user", sa.String(256), nullable=False),
    sa.Column("slot", sa.String(64), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    # rule:<slot>, answer_json or tool:<name>: how the fact was found
    sa.Column("method", sa.String(128), nullable=False),
    sa.Column("source_interaction", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    # a newer value of the slot replaced this one; kept as history, never retrieved
    sa.Column("superseded_at", sa.String(32), nullable=True),
    sa.Column("superseded_by", sa.Integer, nullable=True),
    sa.Column("embedding_model", sa.String(256), nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Index("ix_memory_facts_scope", "tenant", "end_user"),
)


def open_store(url: str) -> Engine:
    """An engine on `url`, its schema migrated to the newest revision; SQLite gets WAL."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # a failed statement's message must not carry the captured text into a log
    sqlite = url.startswith("sqlite")
    connect_args = {"timeout": 30} if sqlite else {}
    engine = sa.create_engine(url, hide_parameters=True, connect_args=connect_args)
    if sqlite:

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: object, _: object) -> None:
            # SQLAlchemy, not the driver, begins transactions (see _begin)
            connection.isolation_level = None  # type: ignore[attr-defined]
            cursor = connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            # an answered call must survive a crash of the server: sync on every commit
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # a deferred transaction that reads, then writes, fails at once with "database is
            # locked" when another writer is active; taking the write lock first makes it wait.
            # Connections from reading() only read, and need no lock in WAL mode.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    from tunesmith.store.migrate import upgrade  # migrate reads the tables defined here

    upgrade(engine)
    return engine


def reading(engine: Engine) -> sa.Connection:
    """A connection for reads only: on SQLite it takes no write lock, so it neither waits for a
    capture's commit nor holds one up (WAL lets readers and one writer run together)."""
    return engine.connect().execution_options(**{READ_ONLY: True})
