"""End-to-end fixtures; the machinery lives in `e2e.harness` so test modules can import its helpers."""

from e2e.harness import pg_database, stack

__all__ = ["pg_database", "stack"]
