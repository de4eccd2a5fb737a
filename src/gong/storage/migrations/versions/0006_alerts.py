"""Alert groups: a group's time zone, alert state and repeat counts on messages, alert marks
(resolve in place), quiet marks (the quiet window), repeat deliveries for the relay.

Revision ID: 0006_alerts
Revises: 0005_limiter
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_alerts"
down_revision = "0005_limiter"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("alert", sa.Text, nullable=True))
        batch.add_column(sa.Column("repeat", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("relay_deliveries") as batch:
        batch.add_column(sa.Column("repeat", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "alert_marks",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(64), nullable=True),
        sa.Column("firing", sa.Boolean, nullable=False),
        sa.Column("starts_at", sa.BigInteger, nullable=True),
        sa.Column("resolved_at", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_marks"),
    )
    op.create_index(
        "ix_alert_marks_robot_id_fingerprint",
        "alert_marks",
        ["robot_id", "fingerprint", "firing"],
    )
    op.create_index("ix_alert_marks_message_id", "alert_marks", ["message_id"])
    op.create_table(
        "quiet_marks",
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("content_key", sa.String(64), nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("posted_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("robot_id", "content_key", name="pk_quiet_marks"),
    )


def downgrade() -> None:
    op.drop_table("quiet_marks")
    op.drop_index("ix_alert_marks_message_id", table_name="alert_marks")
    op.drop_index("ix_alert_marks_robot_id_fingerprint", table_name="alert_marks")
    op.drop_table("alert_marks")
    with op.batch_alter_table("relay_deliveries") as batch:
        batch.drop_column("repeat")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("repeat")
        batch.drop_column("alert")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("timezone")
