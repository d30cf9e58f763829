"""Alembic migrations, applied automatically when the database is opened."""
