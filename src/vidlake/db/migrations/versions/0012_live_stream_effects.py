"""video effects of live streams (``live_streams.effects``)

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_streams") as batch:
        batch.add_column(sa.Column("effects", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("live_streams") as batch:
        batch.drop_column("effects")
