"""Alembic scripts for the store; run in code by Store.migrate(), no alembic.ini needed."""
