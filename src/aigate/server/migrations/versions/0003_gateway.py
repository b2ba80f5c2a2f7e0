"""Enforced mode: vendor keys held by the server (encrypted), registered gateways, usage counts.

Revision ID: 0003_gateway
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_gateway"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendor_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("credential_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "gateway_usage",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("email", sa.String(254), primary_key=True),
        sa.Column("tool", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("calls", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("gateway_usage", "gateways", "vendor_keys"):
        op.drop_table(table)
