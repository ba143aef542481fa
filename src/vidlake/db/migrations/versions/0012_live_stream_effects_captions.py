"""video effects and generated subtitles of live streams (``live_streams.effects``,
``live_streams.generated_subtitles``)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_streams") as batch:
        batch.add_column(sa.Column("effects", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("generated_subtitles", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("live_streams") as batch:
        batch.drop_column("generated_subtitles")
        batch.drop_column("effects")
