"""interactions.retrieval: which knowledge chunks an answer was given from (ids, scores and
the index version), or that it was refused for want of a source the caller may read.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Interactions stored before have no retrieval record: they were answered without one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("retrieval", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("retrieval")
