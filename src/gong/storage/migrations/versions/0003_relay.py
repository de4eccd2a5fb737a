"""Relay: outbox deliveries, upstream sends, lane leases, pacing log; held overflow messages.

Revision ID: 0003_relay
Revises: 0002_web
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_relay"
down_revision = "0002_web"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "relay_deliveries",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=True),
        sa.Column("held_id", sa.BigInteger, nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("send_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_relay_deliveries"),
        sa.ForeignKeyConstraint(
            ["robot_id"],
            ["robots.id"],
            ondelete="CASCADE",
            name="fk_relay_deliveries_robot_id_robots",
        ),
    )
    op.create_index("ix_relay_deliveries_state_robot_id", "relay_deliveries", ["state", "robot_id"])
    op.create_index("ix_relay_deliveries_robot_id_id", "relay_deliveries", ["robot_id", "id"])
    op.create_index("ix_relay_deliveries_send_id", "relay_deliveries", ["send_id"])
    op.create_index("ix_relay_deliveries_message_id", "relay_deliveries", ["message_id"])
    op.create_table(
        "relay_sends",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("msg_uuid", sa.String(64), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_relay_sends"),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["robots.id"], ondelete="CASCADE", name="fk_relay_sends_robot_id_robots"
        ),
        sa.UniqueConstraint("msg_uuid", name="uq_relay_sends_msg_uuid"),
    )
    op.create_index("ix_relay_sends_robot_id_state", "relay_sends", ["robot_id", "state"])
    op.create_table(
        "relay_lanes",
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("robot_id", name="pk_relay_lanes"),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["robots.id"], ondelete="CASCADE", name="fk_relay_lanes_robot_id_robots"
        ),
    )
    op.create_table(
        "relay_attempts",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("upstream", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_relay_attempts"),
    )
    op.create_index("ix_relay_attempts_upstream_at", "relay_attempts", ["upstream", "at"])
    op.create_table(
        "relay_upstreams",
        sa.Column("upstream", sa.String(64), nullable=False),
        sa.Column("paused_until", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("upstream", name="pk_relay_upstreams"),
    )
    op.create_table(
        "overflow_messages",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("msgtype", sa.String(32), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("msg_uuid", sa.String(200), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("summary_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_overflow_messages"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            ondelete="CASCADE",
            name="fk_overflow_messages_group_id_groups",
        ),
    )
    op.create_index(
        "ix_overflow_messages_summary_id_robot_id", "overflow_messages", ["summary_id", "robot_id"]
    )


def downgrade() -> None:
    for table in (
        "overflow_messages",
        "relay_upstreams",
        "relay_attempts",
        "relay_lanes",
        "relay_sends",
        "relay_deliveries",
    ):
        op.drop_table(table)
