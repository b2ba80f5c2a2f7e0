"""The approver console's one-time links and sessions, and the notification outbox.

Revision ID: 0005_console
Revises: 0004_sso
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_console"
down_revision = "0004_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("receiver", sa.String(32), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("dedupe", sa.String(160), nullable=True, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.BigInteger, nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("delivered_at", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
    )
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["state", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    for table in ("notify_outbox", "console_sessions", "console_links"):
        op.drop_table(table)
