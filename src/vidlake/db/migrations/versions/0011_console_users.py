"""console users: email, argon2id password hash, permission (``console_users``)

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("environment_id", sa.String(64), sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False, server_default="full"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("disabled_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_console_users_environment_id", "console_users", ["environment_id"])


def downgrade() -> None:
    op.drop_index("ix_console_users_environment_id", table_name="console_users")
    op.drop_table("console_users")
