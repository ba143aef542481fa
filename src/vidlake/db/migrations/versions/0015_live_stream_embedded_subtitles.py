"""closed captions the publisher embeds (CEA-608 in the H.264 SEI) declared for a live stream
(``live_streams.embedded_subtitles``)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_streams") as batch:
        batch.add_column(sa.Column("embedded_subtitles", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("live_streams") as batch:
        batch.drop_column("embedded_subtitles")
