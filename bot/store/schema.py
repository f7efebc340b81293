"""The database tables, written once so the store and the migrations' drift test agree on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names so alembic can alter them identically on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps that are always timezone-aware UTC, even on SQLite which stores naive text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite compares timestamps as text: one naive UTC format keeps the ordering right.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[Any]:
        return datetime


requests = Table(
    "requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(200), nullable=False),
    Column("requester_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("password_mode", String(20), nullable=False),
    Column("reboot", String(20), nullable=False),
    Column("approvals_required", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("outcome_message", Text, nullable=True),
    Column("claimed_by", String(200), nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=True),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("message_refs", JSON, nullable=False),
    # The front end's id of the form a request was submitted from (Slack: the modal's view id), so a
    # replayed submission finds its request instead of making a second one. NULL for none: never equal.
    Column("submission_key", String(200), nullable=True),
    # Break-glass (migration 0006): run without approval, reviewed afterwards. NULL/false: a normal
    # request. `review_state` is NULL until it runs, then awaiting -> acknowledged / disputed.
    Column("break_glass", Boolean, nullable=True),
    Column("review_state", String(20), nullable=True),
    Column("reviewed_by", String(64), nullable=True),
    Column("review_reason", Text, nullable=True),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("review_reminded_at", UTCDateTime, nullable=True),
    Index(None, "status"),
    Index(None, "requester_id"),
    # A unique index rather than a table constraint: SQLite adds one without rebuilding the table (see
    # migration 0002); the database, not a read before the write, settles two identical submissions.
    Index("uq_requests_submission_key", "submission_key", unique=True),
)

request_servers = Table(
    "request_servers",
    metadata,
    Column("request_id", Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("server_id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("os_type", String(32), nullable=True),
    Column("cloud_status", String(32), nullable=True),
    Column("locked", Boolean, nullable=False),
    Column("plugin_installed", Boolean, nullable=True),
    Column("preflight_error", Text, nullable=True),
    Column("phase", String(20), nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("private_ip", String(64), nullable=True),
    Column("tags", Text, nullable=True),
    Column("namesakes", Integer, nullable=True),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # One decision per approver per request: the database, not the workflow, enforces it.
    UniqueConstraint("request_id", "user_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign key: the trail outlives anything it mentions and may concern no request at all.
    Column("request_id", Integer, nullable=True),
    Column("actor", String(200), nullable=False),
    Column("event", String(100), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "request_id"),
)

reveals = Table(
    "reveals",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("request_id", Integer, ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(64), nullable=False),
    # Fernet ciphertext only; NULL once revealed, expired or erased.
    Column("ciphertext", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revealed_at", UTCDateTime, nullable=True),
    # The click showing the secret right now (see Store.lease_reveal); NULL when none is.
    Column("lease", String(64), nullable=True),
    Column("leased_until", UTCDateTime, nullable=True),
    UniqueConstraint("request_id"),
)

break_glass_cooldowns = Table(
    "break_glass_cooldowns",
    metadata,
    # One row per requester and target: its last break-glass. The primary key and a compare-and-set on
    # `used_at` decide between two break-glass submissions at once, even on two replicas.
    Column("requester_id", String(64), primary_key=True),
    Column("target", String(200), primary_key=True),
    Column("used_at", UTCDateTime, nullable=False),
    Column("request_id", Integer, nullable=False),
)

# Notices a chat refused for a reason that may pass (a rate limit, an outage, a channel the operator must
# fix), sent again by the sweeper of whichever replica takes them; nothing secret (see OwedNotice).
notices_owed = Table(
    "notices_owed",
    metadata,
    Column("request_id", Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("unit", String(100), primary_key=True),
    Column("route", String(40), nullable=False),
    Column("text", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Index(None, "next_at"),
)

# Who is posting a request's message right now (its approval card, say), so two replicas that both see it
# missing post it once: a claim held until `until` (long enough for the message's ref to be stored).
post_claims = Table(
    "post_claims",
    metadata,
    Column("request_id", Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("what", String(64), primary_key=True),
    Column("until", UTCDateTime, nullable=False),
)

# A break-glass submission that passed every check, waiting for its requester's confirmation (migration
# 0009): the confirmation modal carries only a random key, whose SHA-256 is `key_hash`, so any replica can
# take it and any number of servers fits. Taken once, by its owner, before `expires_at` (`taken_at` set);
# the sweeper drops rows past `expires_at`. Nothing secret: the requester's own words and server IDs.
break_glass_holds = Table(
    "break_glass_holds",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("target", String(200), nullable=False),
    Column("password_mode", String(20), nullable=False),
    Column("reboot", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("server_ids", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("taken_at", UTCDateTime, nullable=True),
    Index(None, "expires_at"),
)
