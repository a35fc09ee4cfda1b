"""api_keys.rate: an exact rate window ("N/second", "N/minute", "N/hour") per key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-01

Keys made before keep rate_per_minute and an empty rate, which is read as N/minute.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("rate", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("rate")
