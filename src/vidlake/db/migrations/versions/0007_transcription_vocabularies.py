"""transcription vocabularies (phrases that bias caption recognition)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transcription_vocabularies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("passthrough", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transcription_vocabularies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transcription_vocabularies_environment_id"), ["environment_id"],
                              unique=False)
        batch_op.create_index("ix_transcription_vocabularies_env_created", ["environment_id", "created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transcription_vocabularies", schema=None) as batch_op:
        batch_op.drop_index("ix_transcription_vocabularies_env_created")
        batch_op.drop_index(batch_op.f("ix_transcription_vocabularies_environment_id"))
    op.drop_table("transcription_vocabularies")
