"""Alembic environment: runs on the connection that :func:`aigate.server.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from aigate.server.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via aigate.server.db
    raise RuntimeError("run migrations through `aigate-server init`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
