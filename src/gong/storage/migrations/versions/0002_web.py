"""The web app: user accounts, their links to group members, read state, mentions, app secrets.

Revision ID: 0002_web
Revises: 0001_core
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_web"
down_revision = "0001_core"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index(
        "ix_messages_at_all",
        "messages",
        ["group_id", "id"],
        sqlite_where=sa.text("at_all"),
        postgresql_where=sa.text("at_all"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("last_login_at", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "user_members",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("member_id", sa.Integer, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "member_id", name="pk_user_members"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_user_members_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            ondelete="CASCADE",
            name="fk_user_members_member_id_members",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], ondelete="CASCADE", name="fk_user_members_group_id_groups"
        ),
        sa.UniqueConstraint("member_id", name="uq_user_members_member_id"),
        sa.UniqueConstraint("user_id", "group_id", name="uq_user_members_user_group"),
    )
    op.create_table(
        "read_states",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("last_read_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("user_id", "group_id", name="pk_read_states"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_read_states_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], ondelete="CASCADE", name="fk_read_states_group_id_groups"
        ),
    )
    op.create_table(
        "message_mentions",
        sa.Column("message_id", BigId, nullable=False),
        sa.Column("member_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("message_id", "member_id", name="pk_message_mentions"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            ondelete="CASCADE",
            name="fk_message_mentions_message_id_messages",
        ),
    )
    op.create_index(
        "ix_message_mentions_member_id_message_id",
        "message_mentions",
        ["member_id", "message_id"],
    )
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_app_secrets"),
    )


def downgrade() -> None:
    for table in ("app_secrets", "message_mentions", "read_states", "user_members", "users"):
        op.drop_table(table)
    op.drop_index("ix_messages_at_all", table_name="messages")
