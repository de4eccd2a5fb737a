"""History: the search index, recalled messages, per-group retention, leases.

``message_search`` holds each message's searchable text (filled here for the messages already
stored). On SQLite an FTS5 table with the trigram tokenizer indexes it, kept in step by
triggers; on PostgreSQL a GIN index with ``pg_trgm``'s operator class does, and the extension is
created when it is not there yet (which needs the right to create it: see docs/history.md).

Revision ID: 0008_history
Revises: 0007_ignored_events
Create Date: 2026-12-05
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from gong.domain.errors import Unavailable
from gong.domain.search import searchable_text
from gong.i18n import core

revision = "0008_history"
down_revision = "0007_ignored_events"
branch_labels = None
depends_on = None

_BATCH = 2_000

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE message_fts USING fts5("
    "body, content='message_search', content_rowid='message_id', tokenize='trigram')",
    "CREATE TRIGGER message_search_ai AFTER INSERT ON message_search BEGIN "
    "INSERT INTO message_fts(rowid, body) VALUES (new.message_id, new.body); END",
    "CREATE TRIGGER message_search_ad AFTER DELETE ON message_search BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, body) "
    "VALUES ('delete', old.message_id, old.body); END",
    "CREATE TRIGGER message_search_au AFTER UPDATE ON message_search BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, body) "
    "VALUES ('delete', old.message_id, old.body); "
    "INSERT INTO message_fts(rowid, body) VALUES (new.message_id, new.body); END",
]


class SearchExtensionMissing(Unavailable):
    """PostgreSQL's pg_trgm extension is not installed and may not be created by Gong's role."""


def _pg_trgm(bind: sa.engine.Connection) -> None:
    installed = bind.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    ).scalar()
    if installed:
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        database = bind.execute(sa.text("SELECT current_database()")).scalar()
        raise SearchExtensionMissing(
            core.lazy(
                "Gong's search needs PostgreSQL's pg_trgm extension, and this database role may "
                "not create it (%(error)s). As a superuser, run "
                'CREATE EXTENSION pg_trgm; in database "%(database)s", then start Gong again '
                "(docs/history.md).",
                error=type(exc.orig).__name__,
                database=database,
            )
        ) from None


def _backfill(bind: sa.engine.Connection) -> None:
    messages = sa.table(
        "messages",
        sa.column("id", sa.BigInteger),
        sa.column("msgtype", sa.String),
        sa.column("content", sa.Text),
    )
    search = sa.table("message_search", sa.column("message_id"), sa.column("body"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(messages.c.id, messages.c.msgtype, messages.c.content)
            .where(messages.c.id > last)
            .order_by(messages.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last = int(rows[-1].id)
        found = []
        for row in rows:
            try:
                content = orjson.loads(row.content)
            except orjson.JSONDecodeError:
                continue
            body = searchable_text(row.msgtype, content) if isinstance(content, dict) else ""
            if body:
                found.append({"message_id": row.id, "body": body})
        if found:
            bind.execute(search.insert(), found)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("recalled_at", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("recalled_by", sa.String(200), nullable=True))
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer, nullable=True))
        batch.add_column(sa.Column("retention_count", sa.Integer, nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("until", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "message_search",
        sa.Column("message_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name="fk_message_search_message_id_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name="pk_message_search"),
    )
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    else:
        _pg_trgm(bind)
        op.execute(
            "CREATE INDEX ix_message_search_body_trgm ON message_search "
            "USING gin (body gin_trgm_ops)"
        )
    _backfill(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("message_search_ai", "message_search_ad", "message_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_message_search_body_trgm")
    op.drop_table("message_search")
    op.drop_table("leases")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("retention_count")
        batch.drop_column("retention_days")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("recalled_by")
        batch.drop_column("recalled_at")
