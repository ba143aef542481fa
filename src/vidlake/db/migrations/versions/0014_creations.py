"""one-click creations and live highlights (``creations``)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "creations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("environment_id", sa.String(64), sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("edit_ids", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_creations_environment_id", "creations", ["environment_id"])
    op.create_index("ix_creations_env_created", "creations", ["environment_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_creations_env_created", "creations")
    op.drop_index("ix_creations_environment_id", "creations")
    op.drop_table("creations")
