"""The database schema as SQLAlchemy Core tables; Alembic migrations in ``migrations/`` create it.

Times are integer UTC epoch seconds (audit events: milliseconds), so SQLite and PostgreSQL compare
them alike. Ids shown to users are random hex strings; secrets (enrollment codes, device
credentials) are stored only as SHA-256 hex digests.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("groups", Text, nullable=False, default="[]"),  # JSON list of group names
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
)

enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("device_id", String(32), nullable=True),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("credential_hash", String(64), nullable=False),
    Column("name", String(255), nullable=False, default=""),
    Column("platform", String(64), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

access_requests = Table(
    "access_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("key_scope", String(255), nullable=False),
    Column("requested_seconds", Integer, nullable=False),
    Column("duration_capped", Boolean, nullable=False),
    Column("max_duration_seconds", Integer, nullable=False),
    Column("automatic", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("review_expires_at", BigInteger, nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("decided_by", String(254), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("granted_seconds", Integer, nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Index("ix_access_requests_user_tool_state", "user_id", "tool", "state"),
    Index("ix_access_requests_state", "state"),
)

session_events = Table(
    "session_events",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("device_id", String(32), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("host", String(255), nullable=False, default=""),
    Column("repository", String(512), nullable=True),
    Column("token_id", String(64), nullable=True),
    Column("exit_status", Integer, nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("received_at", BigInteger, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(254), nullable=False),  # email, or "cli:<os user>", or "system"
    Column("device_id", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("subject", String(254), nullable=False, default=""),
    Column("data", Text, nullable=False, default="{}"),  # canonical JSON object
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_subject", "subject"),  # migration 0002: session events look up token ids
)

# One row (id = 1): the chain head. Writers lock it, append a batch, and move it once per batch.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Enforced mode (migration 0003_gateway). A vendor key is stored only encrypted (AEAD, see
# ``vendor_keys.py``; the key-encryption key is a file in the data dir, never in the database).
vendor_keys = Table(
    "vendor_keys",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("sealed", Text, nullable=False),  # base64url(nonce || AES-256-GCM ciphertext+tag), AAD = scope
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

gateways = Table(
    "gateways",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("credential_hash", String(64), nullable=False),  # SHA-256 hex of agw_<id>_<secret>
    Column("created_at", BigInteger, nullable=False),
)

# Authorized model calls through a gateway, counted per UTC day, user, tool and scope.
gateway_usage = Table(
    "gateway_usage",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("email", String(254), primary_key=True),
    Column("tool", String(64), primary_key=True),
    Column("scope", String(64), primary_key=True),
    Column("calls", BigInteger, nullable=False),
)

# SSO (migration 0004_sso): device authorizations brokered for `aigate login` without a code, and
# OpenID Connect sign-ins in flight. Only SHA-256 digests of their secrets are stored.
device_authorizations = Table(
    "device_authorizations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("device_code_hash", String(64), nullable=False, unique=True),
    Column("user_code_hash", String(64), nullable=False, unique=True),
    Column("device_name", String(255), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | signed-in | approved | denied | used
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("interval", Integer, nullable=False),  # seconds the client must wait between polls
    Column("last_polled_at", BigInteger, nullable=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=True),  # who signed in for it
    Column("confirm_hash", String(64), nullable=True),  # the one-time token of the confirm form
    Column("device_id", String(32), nullable=True),  # the device it became
)

sso_logins = Table(
    "sso_logins",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("nonce_hash", String(64), nullable=False),
    Column("code_challenge", String(64), nullable=False),  # PKCE S256; the verifier is the browser's cookie
    Column("purpose", String(16), nullable=False),  # "device" (more purposes, e.g. the console, may follow)
    Column("device_authorization_id", String(32), nullable=True),
    Column("return_to", String(255), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
    Column("used_at", BigInteger, nullable=True),
)

# --- the approver console (migration 0005_console) ---------------------------------------------------

# One-time sign-in links made by `aigate admin console`: single use, minutes long, bound to the device
# that asked (the session it opens ends when that device's credential stops working).
console_links = Table(
    "console_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("device_id", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("device_id", String(32), nullable=True),  # the device whose link opened it (None: SSO)
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
)

# Notifications waiting for (or done with) delivery: one row per receiver and event. ``body`` is the
# exact bytes sent; the signature is made at each attempt (its timestamp is the attempt's).
notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", String(32), primary_key=True),  # also the X-Aigate-Delivery header
    Column("receiver", String(32), nullable=False),  # notify.receiver_id(url): the URL itself is not stored
    Column("event", String(32), nullable=False),
    Column("subject", String(64), nullable=False),  # the access request id
    Column("dedupe", String(160), nullable=True, unique=True),  # grant.expiring: once per grant and receiver
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),  # a worker is sending it until then
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Column("last_error", String(255), nullable=True),  # "HTTP 503" or an exception class: never the URL
    Index("ix_notify_outbox_due", "state", "next_at"),
)
