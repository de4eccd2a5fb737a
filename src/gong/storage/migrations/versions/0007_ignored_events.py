"""Ignored events: what each integration robot received and did not show, and why.

Revision ID: 0007_ignored_events
Revises: 0006_alerts
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_ignored_events"
down_revision = "0006_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ignored_events",
        sa.Column("robot_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["robot_id"],
            ["robots.id"],
            name="fk_ignored_events_robot_id_robots",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("robot_id", "event", "reason", name="pk_ignored_events"),
    )


def downgrade() -> None:
    op.drop_table("ignored_events")
