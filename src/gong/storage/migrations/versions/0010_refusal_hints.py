"""Refusals that teach: each refused call may keep a hint of what most likely went wrong.

Revision ID: 0010_refusal_hints
Revises: 0009_preferences
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_refusal_hints"
down_revision = "0009_preferences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refusals") as batch:
        batch.add_column(sa.Column("hint", sa.String(32), nullable=True))
        batch.add_column(sa.Column("hint_params", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refusals") as batch:
        batch.drop_column("hint_params")
        batch.drop_column("hint")
