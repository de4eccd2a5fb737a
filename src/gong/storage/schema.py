"""The database schema, shared by SQLite and PostgreSQL. Times are milliseconds since the epoch.

Migrations in ``gong/storage/migrations`` create and evolve exactly these tables; a test checks
that a migrated database matches this metadata. Column widths that bound what senders and admins
send (``MAX_MSG_UUID``, ``MAX_NAME``, …) and the robots' default rate limit are stated once in
:mod:`gong.protocol.limits`; a ``msgUuid`` too long for its columns is refused with 400402 before
anything is written.
"""

from __future__ import annotations

import sqlalchemy as sa

from gong.protocol.limits import (
    DINGTALK_RATE_BLOCK,
    DINGTALK_RATE_LIMIT,
    DINGTALK_RATE_WINDOW,
    MAX_AVATAR_URL,
    MAX_MOBILE,
    MAX_MSG_UUID,
    MAX_NAME,
    MAX_USER_ID,
)

__all__ = [
    "admin_tokens",
    "alert_marks",
    "app_secrets",
    "groups",
    "ignored_events",
    "in_metadata",
    "leases",
    "limiter_keys",
    "members",
    "message_mentions",
    "message_search",
    "message_uuids",
    "messages",
    "meta",
    "metadata",
    "outgoing_calls",
    "overflow_messages",
    "push_subscriptions",
    "quiet_marks",
    "read_states",
    "refusals",
    "relay_attempts",
    "relay_deliveries",
    "relay_lanes",
    "relay_sends",
    "relay_upstreams",
    "robot_sessions",
    "robot_stats",
    "robots",
    "user_members",
    "users",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

admin_tokens = sa.Table(
    "admin_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(MAX_NAME), nullable=False),
    sa.Column("dissolved", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # The IANA zone times are written in (migration 0006_alerts); NULL: the server's.
    sa.Column("timezone", sa.String(64), nullable=True),
    # Retention (migration 0008_history): keep messages this many days and/or this many of the
    # newest; NULL: keep forever.
    sa.Column("retention_days", sa.Integer, nullable=True),
    sa.Column("retention_count", sa.Integer, nullable=True),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(MAX_NAME), nullable=False),
    sa.Column("mobile", sa.String(MAX_MOBILE), nullable=True),
    sa.Column("user_id", sa.String(MAX_USER_ID), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("group_id", "mobile", name="uq_members_group_mobile"),
    sa.UniqueConstraint("group_id", "user_id", name="uq_members_group_user_id"),
)

robots = sa.Table(
    "robots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(MAX_NAME), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False, server_default="custom"),
    sa.Column("access_token", sa.String(64), nullable=False, unique=True),
    sa.Column("secret", sa.String(80), nullable=True),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("ip_allow", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("rate_limit", sa.Integer, nullable=False, server_default=str(DINGTALK_RATE_LIMIT)),
    sa.Column("rate_window", sa.Integer, nullable=False, server_default=str(DINGTALK_RATE_WINDOW)),
    sa.Column("rate_block", sa.Integer, nullable=False, server_default=str(DINGTALK_RATE_BLOCK)),
    sa.Column("overflow", sa.String(16), nullable=False, server_default="reject"),
    sa.Column("avatar_url", sa.String(MAX_AVATAR_URL), nullable=False, server_default=""),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

robot_stats = sa.Table(
    "robot_stats",
    metadata,
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("accepted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refused", sa.BigInteger, nullable=False, server_default="0"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("robot_id", sa.Integer, nullable=True),
    sa.Column("sender_type", sa.String(16), nullable=False),
    sa.Column("sender_user_id", sa.Integer, nullable=True),
    sa.Column("sender_name", sa.String(MAX_NAME), nullable=False),
    sa.Column("msgtype", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("mentions", sa.Text, nullable=False, server_default="[]"),
    sa.Column("at_all", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("unresolved", sa.Text, nullable=False, server_default="[]"),
    sa.Column("msg_uuid", sa.String(MAX_MSG_UUID), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Only this account sees the message (migration 0004_outgoing); NULL: the whole group.
    sa.Column("visible_to_user_id", sa.Integer, nullable=True),
    # Alert state, JSON (migration 0006_alerts); NULL for messages that are not alert groups.
    sa.Column("alert", sa.Text, nullable=True),
    # How many times the message was posted (the quiet window counts repeats here).
    sa.Column("repeat", sa.Integer, nullable=False, server_default="1"),
    # Recalled (migration 0008_history): when and by whom; the content is gone.
    sa.Column("recalled_at", sa.BigInteger, nullable=True),
    sa.Column("recalled_by", sa.String(200), nullable=True),
    sa.Index("ix_messages_group_id_id", "group_id", "id"),
    sa.Index("ix_messages_robot_id_id", "robot_id", "id"),
)

message_uuids = sa.Table(
    "message_uuids",
    metadata,
    sa.Column("robot_id", sa.Integer, primary_key=True),
    sa.Column("msg_uuid", sa.String(MAX_MSG_UUID), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Index("ix_message_uuids_expires_at", "expires_at"),
)

refusals = sa.Table(
    "refusals",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("robot_id", sa.Integer, nullable=False),
    sa.Column("errcode", sa.Integer, nullable=False),
    sa.Column("errmsg", sa.Text, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # What most likely went wrong (migration 0010_refusal_hints): a gong.domain.hints code and
    # its parameters as JSON.
    sa.Column("hint", sa.String(32), nullable=True),
    sa.Column("hint_params", sa.Text, nullable=True),
    sa.Index("ix_refusals_robot_id_id", "robot_id", "id"),
)

# -- relay (migration 0003_relay) -----------------------------------------------------------------

relay_deliveries = sa.Table(
    "relay_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("message_id", sa.BigInteger, nullable=True),
    sa.Column("held_id", sa.BigInteger, nullable=True),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("send_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # A repeat counted by the quiet window (migration 0006_alerts): never sent alone, only
    # counted in the next digest.
    sa.Column("repeat", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_relay_deliveries_state_robot_id", "state", "robot_id"),
    sa.Index("ix_relay_deliveries_robot_id_id", "robot_id", "id"),
    sa.Index("ix_relay_deliveries_send_id", "send_id"),
    sa.Index("ix_relay_deliveries_message_id", "message_id"),
)

relay_sends = sa.Table(
    "relay_sends",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("msg_uuid", sa.String(64), nullable=False, unique=True),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("last_attempt_at", sa.BigInteger, nullable=True),
    sa.Column("errcode", sa.Integer, nullable=True),
    sa.Column("errmsg", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("sent_at", sa.BigInteger, nullable=True),
    sa.Index("ix_relay_sends_robot_id_state", "robot_id", "state"),
)

relay_lanes = sa.Table(
    "relay_lanes",
    metadata,
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("lease_until", sa.BigInteger, nullable=False),
)

relay_attempts = sa.Table(
    "relay_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("upstream", sa.String(64), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Index("ix_relay_attempts_upstream_at", "upstream", "at"),
)

relay_upstreams = sa.Table(
    "relay_upstreams",
    metadata,
    sa.Column("upstream", sa.String(64), primary_key=True),
    sa.Column("paused_until", sa.BigInteger, nullable=False),
)

overflow_messages = sa.Table(
    "overflow_messages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("robot_id", sa.Integer, nullable=False),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("sender_name", sa.String(MAX_NAME), nullable=False),
    sa.Column("msgtype", sa.String(32), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("msg_uuid", sa.String(MAX_MSG_UUID), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("summary_id", sa.BigInteger, nullable=True),
    sa.Index("ix_overflow_messages_summary_id_robot_id", "summary_id", "robot_id"),
)

# -- the web app: accounts, their links to members, read state, mentions --------------------------

#: Finds the unread ``isAtAll`` messages of a group without scanning its other messages.
ix_messages_at_all = sa.Index(
    "ix_messages_at_all",
    messages.c.group_id,
    messages.c.id,
    sqlite_where=messages.c.at_all,
    postgresql_where=messages.c.at_all,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("last_login_at", sa.BigInteger, nullable=True),
    # Preferences (migration 0009_preferences): the chosen language (None: the browser's) and
    # colour scheme (None: the system's), and when to be notified.
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("theme", sa.String(8), nullable=True),
    sa.Column("notify", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("notify_mentions", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint("username", name="uq_users_username"),
)

user_members = sa.Table(
    "user_members",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.PrimaryKeyConstraint("user_id", "member_id", name="pk_user_members"),
    sa.UniqueConstraint("member_id", name="uq_user_members_member_id"),
    sa.UniqueConstraint("user_id", "group_id", name="uq_user_members_user_group"),
)

read_states = sa.Table(
    "read_states",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("last_read_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()),
    # Notify on every message of this group (migration 0009_preferences).
    sa.Column("notify_all", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint("user_id", "group_id", name="pk_read_states"),
)

#: Web Push subscriptions of an account's browsers (migration 0009_preferences).
push_subscriptions = sa.Table(
    "push_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("endpoint", sa.String(2000), nullable=False),
    sa.Column("p256dh", sa.String(200), nullable=False),
    sa.Column("auth", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_ok_at", sa.BigInteger, nullable=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),
)

message_mentions = sa.Table(
    "message_mentions",
    metadata,
    sa.Column(
        "message_id", BigId, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False
    ),
    # No foreign key: removing a member must never fail a message already on its way in.
    sa.Column("member_id", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("message_id", "member_id", name="pk_message_mentions"),
    sa.Index("ix_message_mentions_member_id_message_id", "member_id", "message_id"),
)

app_secrets = sa.Table(
    "app_secrets",
    metadata,
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("name", name="pk_app_secrets"),
)

# -- outgoing robots (migration 0004_outgoing) ----------------------------------------------------

robot_sessions = sa.Table(
    "robot_sessions",
    metadata,
    sa.Column("session", sa.String(32), nullable=False),
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("message_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("session", name="pk_robot_sessions"),
    sa.Index("ix_robot_sessions_expires_at", "expires_at"),
)

outgoing_calls = sa.Table(
    "outgoing_calls",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("group_id", sa.Integer, nullable=False),
    sa.Column("message_id", sa.BigInteger, nullable=False),
    sa.Column("sender_user_id", sa.Integer, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("answer_message_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_outgoing_calls_robot_id_id", "robot_id", "id"),
)

# -- limiter state kept in the database (migration 0005_limiter) ----------------------------------

#: One row per key of :class:`~gong.storage.limits.DatabaseLimiter`: the times counted in the
#: key's sliding window (``hits``, milliseconds separated by spaces) and the end of its block. It
#: holds the sign-in lockout when Redis is not configured; its keys are HMAC digests, never a
#: username or an address. A row may be deleted once ``expires_at`` has passed.
limiter_keys = sa.Table(
    "limiter_keys",
    metadata,
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("hits", sa.Text, nullable=False),
    sa.Column("blocked_until", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("key", name="pk_limiter_keys"),
    sa.Index("ix_limiter_keys_expires_at", "expires_at"),
)


# -- alerts (migration 0006_alerts) -----------------------------------------------------------

alert_marks = sa.Table(
    "alert_marks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("robot_id", sa.Integer, nullable=False),
    sa.Column("message_id", sa.BigInteger, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("group_key", sa.String(64), nullable=True),  # a hash of Alertmanager's groupKey
    sa.Column("firing", sa.Boolean, nullable=False),
    sa.Column("starts_at", sa.BigInteger, nullable=True),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
    sa.Index("ix_alert_marks_robot_id_fingerprint", "robot_id", "fingerprint", "firing"),
    sa.Index("ix_alert_marks_message_id", "message_id"),
)

quiet_marks = sa.Table(
    "quiet_marks",
    metadata,
    sa.Column("robot_id", sa.Integer, nullable=False),
    sa.Column("content_key", sa.String(64), nullable=False),
    sa.Column("message_id", sa.BigInteger, nullable=False),
    sa.Column("posted_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("robot_id", "content_key", name="pk_quiet_marks"),
)

# -- ignored events (migration 0007_ignored_events) ----------------------------------------------

#: What each integration robot received and did not show, one row per event and reason.
ignored_events = sa.Table(
    "ignored_events",
    metadata,
    sa.Column(
        "robot_id", sa.Integer, sa.ForeignKey("robots.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event", sa.String(100), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("first_at", sa.BigInteger, nullable=False),
    sa.Column("last_at", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.String(300), nullable=False),
    sa.PrimaryKeyConstraint("robot_id", "event", "reason", name="pk_ignored_events"),
)

# -- search and history (migration 0008_history) -------------------------------------------------

#: Each message's searchable text (gong.domain.search.searchable_text). On SQLite an FTS5 table
#: with the trigram tokenizer indexes it (``message_fts``, kept by triggers); on PostgreSQL a
#: pg_trgm GIN index (``ix_message_search_body_trgm``). Both are made by the migration and are
#: not part of this metadata (see :data:`NOT_IN_METADATA`).
message_search = sa.Table(
    "message_search",
    metadata,
    sa.Column(
        "message_id",
        sa.BigInteger,
        sa.ForeignKey("messages.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("body", sa.Text, nullable=False),
)

#: Work that one instance at a time does (the retention pruner): who holds it, until when.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("until", sa.BigInteger, nullable=False),
)

#: Search structures the migrations make per backend, outside this metadata.
NOT_IN_METADATA = frozenset({"message_fts", "ix_message_search_body_trgm"})


def in_metadata(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: whether a database object is described here (the search
    structures above and FTS5's shadow tables are not)."""
    return name is None or not any(name.startswith(n) for n in NOT_IN_METADATA)
