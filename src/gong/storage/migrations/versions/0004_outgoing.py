"""Outgoing robots: sessionWebhooks, the callback log, and messages only one account sees.

Revision ID: 0004_outgoing
Revises: 0003_relay
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_outgoing"
down_revision = "0003_relay"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("messages", sa.Column("visible_to_user_id", sa.Integer, nullable=True))
    op.create_table(
        "robot_sessions",
        sa.Column("session", sa.String(32), nullable=False),
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("session", name="pk_robot_sessions"),
        sa.ForeignKeyConstraint(
            ["robot_id"],
            ["robots.id"],
            ondelete="CASCADE",
            name="fk_robot_sessions_robot_id_robots",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            ondelete="CASCADE",
            name="fk_robot_sessions_group_id_groups",
        ),
    )
    op.create_index("ix_robot_sessions_expires_at", "robot_sessions", ["expires_at"])
    op.create_table(
        "outgoing_calls",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("robot_id", sa.Integer, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_outgoing_calls"),
        sa.ForeignKeyConstraint(
            ["robot_id"],
            ["robots.id"],
            ondelete="CASCADE",
            name="fk_outgoing_calls_robot_id_robots",
        ),
    )
    op.create_index("ix_outgoing_calls_robot_id_id", "outgoing_calls", ["robot_id", "id"])


def downgrade() -> None:
    op.drop_table("outgoing_calls")
    op.drop_table("robot_sessions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("visible_to_user_id")
