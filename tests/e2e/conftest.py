"""End-to-end fixtures; the machinery lives in `support.harness` so test modules can import its helpers."""

from support.harness import stack
from support.pg import pg_database

__all__ = ["pg_database", "stack"]
