"""interactions.tools: the tool list a request offered (OpenAI function schemas), so a
reviewed tool-calling answer can be exported with the tools it was given.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Interactions stored before have no tool list: they were answered without one, or before the
server kept it (their calls, if any, are still in `choices`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("tools", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("tools")
