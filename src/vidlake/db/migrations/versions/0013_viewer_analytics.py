"""viewer-experience analytics: raw beacon events (``viewer_events``), rolled-up views (``video_views``)
and each environment's public beacon key (``environments.data_env_key``)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(sa.Column("data_env_key", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_environments_data_env_key", ["data_env_key"])
    op.create_table(
        "viewer_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("environment_id", sa.String(64), nullable=False),
        sa.Column("view_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("viewer_time", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("rolled_up", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("environment_id", "view_id", "seq", name="uq_viewer_events_view_seq"),
    )
    op.create_index("ix_viewer_events_pending", "viewer_events", ["rolled_up", "id"])
    op.create_index("ix_viewer_events_received", "viewer_events", ["received_at"])
    op.create_table(
        "video_views",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("environment_id", sa.String(64), nullable=False),
        sa.Column("viewer_id", sa.String(128), nullable=True),
        sa.Column("view_start", sa.Float(), nullable=False),
        sa.Column("view_end", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("event_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ended", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("started", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("asset_id", sa.String(64), nullable=True),
        sa.Column("playback_id", sa.String(64), nullable=True),
        sa.Column("live_stream_id", sa.String(64), nullable=True),
        sa.Column("video_title", sa.String(255), nullable=True),
        sa.Column("browser", sa.String(64), nullable=True),
        sa.Column("operating_system", sa.String(64), nullable=True),
        sa.Column("player_name", sa.String(128), nullable=True),
        sa.Column("watch_time_ms", sa.Float(), nullable=False, server_default="0"),
        sa.Column("playing_time_ms", sa.Float(), nullable=False, server_default="0"),
        sa.Column("video_startup_ms", sa.Float(), nullable=True),
        sa.Column("player_startup_ms", sa.Float(), nullable=True),
        sa.Column("rebuffer_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rebuffer_duration_ms", sa.Float(), nullable=False, server_default="0"),
        sa.Column("rebuffer_percentage", sa.Float(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("exit_before_start", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("max_upscale", sa.Float(), nullable=True),
        sa.Column("avg_upscale", sa.Float(), nullable=True),
        sa.Column("playback_success_score", sa.Float(), nullable=True),
        sa.Column("startup_time_score", sa.Float(), nullable=True),
        sa.Column("smoothness_score", sa.Float(), nullable=True),
        sa.Column("video_quality_score", sa.Float(), nullable=True),
        sa.Column("viewer_experience_score", sa.Float(), nullable=True),
    )
    op.create_index("ix_video_views_env_start", "video_views", ["environment_id", "view_start"])
    op.create_index("ix_video_views_env_viewer", "video_views", ["environment_id", "viewer_id"])


def downgrade() -> None:
    op.drop_index("ix_video_views_env_viewer", table_name="video_views")
    op.drop_index("ix_video_views_env_start", table_name="video_views")
    op.drop_table("video_views")
    op.drop_index("ix_viewer_events_received", table_name="viewer_events")
    op.drop_index("ix_viewer_events_pending", table_name="viewer_events")
    op.drop_table("viewer_events")
    with op.batch_alter_table("environments") as batch:
        batch.drop_constraint("uq_environments_data_env_key", type_="unique")
        batch.drop_column("data_env_key")
