"""Alembic migrations of dispatch's database."""
