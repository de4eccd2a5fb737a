"""Account preferences: language, colour scheme, notifications; Web Push subscriptions.

Revision ID: 0009_preferences
Revises: 0008_history
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_preferences"
down_revision = "0008_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
        batch.add_column(sa.Column("theme", sa.String(8), nullable=True))
        batch.add_column(sa.Column("notify", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(
            sa.Column("notify_mentions", sa.Boolean, nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("read_states") as batch:
        batch.add_column(
            sa.Column("notify_all", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(2000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_ok_at", sa.BigInteger, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_push_subscriptions_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_push_subscriptions"),
        sa.UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),
    )


def downgrade() -> None:
    op.drop_table("push_subscriptions")
    with op.batch_alter_table("read_states") as batch:
        batch.drop_column("notify_all")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_mentions")
        batch.drop_column("notify")
        batch.drop_column("theme")
        batch.drop_column("language")
