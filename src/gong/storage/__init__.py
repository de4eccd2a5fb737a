"""Storage: one SQLAlchemy Core schema for SQLite and PostgreSQL, Alembic migrations, the
group-commit writer, and the cached robot directory."""
