"""api_keys.groups: the knowledge-base access groups of a key (a JSON list of names).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Keys made before keep an empty groups column, which is read as no groups: they retrieve nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("groups", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("groups")
