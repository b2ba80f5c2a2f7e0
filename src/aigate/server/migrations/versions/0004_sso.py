"""SSO: device authorizations (RFC 8628 shape) brokered by the server, and OpenID Connect sign-ins in
flight. Secrets (device codes, user codes, OIDC ``state``, confirmation tokens) are stored as SHA-256
hex digests only.

Revision ID: 0004_sso
Revises: 0003_gateway
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_sso"
down_revision = "0003_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("device_code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("device_name", sa.String(255), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("interval", sa.Integer, nullable=False),
        sa.Column("last_polled_at", sa.BigInteger, nullable=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("confirm_hash", sa.String(64), nullable=True),
        sa.Column("device_id", sa.String(32), nullable=True),
    )
    op.create_table(
        "sso_logins",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("device_authorization_id", sa.String(32), nullable=True),
        sa.Column("return_to", sa.String(255), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_sso_logins_expires_at", "sso_logins", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sso_logins_expires_at", table_name="sso_logins")
    op.drop_table("sso_logins")
    op.drop_table("device_authorizations")
