"""Limiter state in the database: the sign-in lockout outlives a restart without Redis.

Revision ID: 0005_limiter
Revises: 0004_outgoing
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_limiter"
down_revision = "0004_outgoing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "limiter_keys",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("hits", sa.Text, nullable=False),
        sa.Column("blocked_until", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_limiter_keys"),
    )
    op.create_index("ix_limiter_keys_expires_at", "limiter_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_limiter_keys_expires_at", table_name="limiter_keys")
    op.drop_table("limiter_keys")
