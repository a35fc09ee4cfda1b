"""Memory (memory:): api_keys.tenant (whose end users' memory a key reads and writes),
interactions.memory (the memories an answer was given), and the per-user stores
memory_episodes (earlier turns) and memory_facts (facts, superseded ones kept as history).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Keys made before have no tenant: they neither read nor write memory.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("tenant", sa.String(64), nullable=True))
    op.add_column("interactions", sa.Column("memory", sa.JSON, nullable=True))
    op.create_table(
        "memory_episodes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("end_user", sa.String(256), nullable=False),
        sa.Column("interaction_id", sa.String(40), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("embedding_model", sa.String(256), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_memory_episodes_scope", "memory_episodes", ["tenant", "end_user"])
    op.create_table(
        "memory_facts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("end_user", sa.String(256), nullable=False),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("source_interaction", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False, index=True),
        sa.Column("superseded_at", sa.String(32), nullable=True),
        sa.Column("superseded_by", sa.Integer, nullable=True),
        sa.Column("embedding_model", sa.String(256), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_memory_facts_scope", "memory_facts", ["tenant", "end_user"])


def downgrade() -> None:
    op.drop_table("memory_facts")
    op.drop_table("memory_episodes")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("memory")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("tenant")
