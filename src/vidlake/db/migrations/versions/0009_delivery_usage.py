"""delivered media seconds per environment, asset, live stream, hour and resolution tier (``delivery_usage``)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_usage",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("environment_id", sa.String(64), nullable=False),
        sa.Column("asset_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("live_stream_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False, server_default="0"),
        sa.UniqueConstraint("environment_id", "asset_id", "live_stream_id", "hour", "tier",
                            name="uq_delivery_usage_key"),
    )
    op.create_index("ix_delivery_usage_env_hour", "delivery_usage", ["environment_id", "hour"])


def downgrade() -> None:
    op.drop_index("ix_delivery_usage_env_hour", table_name="delivery_usage")
    op.drop_table("delivery_usage")
