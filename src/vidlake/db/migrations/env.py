"""Alembic environment: runs on the connection given by ``vidlake.db.migrate``, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from vidlake.db import analytics_models, creation_models, web_input_models  # noqa: F401  (their tables are in the same metadata)
from vidlake.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from vidlake.db.session import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
