"""interactions.trace: a workflow's steps (serve.workflows) — which model and adapter each
step ran on, what it gave (label, fields, call names), whether it was skipped and why, and how
long it took.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Interactions stored before have no trace: they were answered by one model.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("trace", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("trace")
