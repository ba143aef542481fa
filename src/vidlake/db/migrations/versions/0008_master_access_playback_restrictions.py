"""master access of assets (``assets.master_*``) and playback restrictions (``playback_restrictions``)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("master_access", sa.String(16), nullable=False, server_default="none"))
        batch_op.add_column(sa.Column("master_status", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("master_expires_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("master_token", sa.String(64), nullable=True))
    op.create_table(
        "playback_restrictions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("environment_id", sa.String(64), sa.ForeignKey("environments.id"), nullable=False, index=True),
        sa.Column("referrer", sa.JSON(), nullable=False),
        sa.Column("user_agent", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("playback_restrictions")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_column("master_token")
        batch_op.drop_column("master_expires_at")
        batch_op.drop_column("master_status")
        batch_op.drop_column("master_access")
