"""web inputs (``web_inputs``)

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_inputs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("environment_id", sa.String(64), sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("live_stream_id", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("auto_launch", sa.Boolean(), nullable=False),
        sa.Column("passthrough", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("owner_seen_at", sa.Float(), nullable=True),
        sa.Column("launched_at", sa.Float(), nullable=True),
        sa.Column("reload_requested", sa.Integer(), nullable=False),
        sa.Column("reloads_done", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_web_inputs_environment_id", "web_inputs", ["environment_id"])
    op.create_index("ix_web_inputs_status", "web_inputs", ["status"])
    op.create_index("ix_web_inputs_env_created", "web_inputs", ["environment_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_web_inputs_env_created", "web_inputs")
    op.drop_index("ix_web_inputs_status", "web_inputs")
    op.drop_index("ix_web_inputs_environment_id", "web_inputs")
    op.drop_table("web_inputs")
