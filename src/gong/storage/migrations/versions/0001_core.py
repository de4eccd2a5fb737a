"""Core tables: groups, members, robots, messages, refusals, admin tokens.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_admin_tokens_token_hash"),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dissolved", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_groups"),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mobile", sa.String(32), nullable=True),
        sa.Column("user_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], ondelete="CASCADE", name="fk_members_group_id_groups"
        ),
        sa.UniqueConstraint("group_id", "mobile", name="uq_members_group_mobile"),
        sa.UniqueConstraint("group_id", "user_id", name="uq_members_group_user_id"),
    )
    op.create_table(
        "robots",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False, server_default="custom"),
        sa.Column("access_token", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(80), nullable=True),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("ip_allow", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("rate_limit", sa.Integer, nullable=False, server_default="20"),
        sa.Column("rate_window", sa.Integer, nullable=False, server_default="60"),
        sa.Column("rate_block", sa.Integer, nullable=False, server_default="600"),
        sa.Column("overflow", sa.String(16), nullable=False, server_default="reject"),
        sa.Column("avatar_url", sa.String(1000), nullable=False, server_default=""),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_robots"),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], ondelete="CASCADE", name="fk_robots_group_id_groups"
        ),
        sa.UniqueConstraint("access_token", name="uq_robots_access_token"),
    )
    op.create_table(
        "robot_stats",
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("accepted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("refused", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("robot_id", name="pk_robot_stats"),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["robots.id"], ondelete="CASCADE", name="fk_robot_stats_robot_id_robots"
        ),
    )
    op.create_table(
        "messages",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("robot_id", sa.Integer, nullable=True),
        sa.Column("sender_type", sa.String(16), nullable=False),
        sa.Column("sender_user_id", sa.Integer, nullable=True),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("msgtype", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("mentions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("at_all", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("unresolved", sa.Text, nullable=False, server_default="[]"),
        sa.Column("msg_uuid", sa.String(200), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], ondelete="CASCADE", name="fk_messages_group_id_groups"
        ),
    )
    op.create_index("ix_messages_group_id_id", "messages", ["group_id", "id"])
    op.create_index("ix_messages_robot_id_id", "messages", ["robot_id", "id"])
    op.create_table(
        "message_uuids",
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("msg_uuid", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("robot_id", "msg_uuid", name="pk_message_uuids"),
    )
    op.create_index("ix_message_uuids_expires_at", "message_uuids", ["expires_at"])
    op.create_table(
        "refusals",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("errcode", sa.Integer, nullable=False),
        sa.Column("errmsg", sa.Text, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_refusals"),
    )
    op.create_index("ix_refusals_robot_id_id", "refusals", ["robot_id", "id"])


def downgrade() -> None:
    for table in (
        "refusals",
        "message_uuids",
        "messages",
        "robot_stats",
        "robots",
        "members",
        "groups",
        "admin_tokens",
        "meta",
    ):
        op.drop_table(table)
