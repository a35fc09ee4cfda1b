"""Baseline: the schema as the hand-rolled store made it, adopting stores made before Alembic.

Revision ID: 0001
Revises:
Create Date: 2026-05-01

Before Alembic, opening a store ran `metadata.create_all` and then added any nullable column
an earlier release lacked. This revision does the same once for such a store (tables it lacks
are created, missing nullable columns added, rows kept) and creates a fresh store whole. The
tables are frozen here: later changes to tunesmith.store.db need a revision of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tables() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "api_keys",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("rate_per_minute", sa.Integer, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    sa.Table(
        "interactions",
        md,
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
        sa.Column("flags", sa.JSON, nullable=True),
    )
    sa.Table(
        "ratings",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("interaction_id", sa.String(40), nullable=False, index=True),
        sa.Column("key_name", sa.String(128), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    sa.Table(
        "review_items",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("interaction_id", sa.String(40), nullable=False, unique=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
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
    sa.Table(
        "choice_items",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pair_key", sa.String(64), nullable=False, unique=True),
        sa.Column("prompt", sa.JSON, nullable=False),
        sa.Column("answer_a", sa.Text, nullable=False),
        sa.Column("answer_b", sa.Text, nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("model", sa.String(256), nullable=True),
        sa.Column("run_id", sa.String(128), nullable=True),
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
    return md


def upgrade() -> None:
    bind = op.get_bind()
    md = _tables()
    inspector = sa.inspect(bind)
    present = set(inspector.get_table_names())
    md.create_all(bind, tables=[t for t in md.sorted_tables if t.name not in present])
    for table in md.sorted_tables:
        if table.name not in present:
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            # what the hand-rolled store did: an earlier release's table gains the nullable
            # columns added since (a NOT NULL column has no value to give old rows)
            if column.name not in have and column.nullable:
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    _tables().drop_all(bind)
