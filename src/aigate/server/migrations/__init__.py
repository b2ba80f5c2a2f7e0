"""Alembic migrations of the aigate-server schema (run by ``aigate-server init``)."""
