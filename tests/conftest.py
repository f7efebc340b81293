"""Suite-wide: say up front whether the PostgreSQL tests will run, so a skip is never silent."""

from __future__ import annotations

import asyncio
import os

import pytest

PG_URL = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _postgres_answers() -> str | None:
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def pytest_report_header(config: pytest.Config) -> list[str]:
    problem = _postgres_answers()
    if problem is None:
        return [f"PostgreSQL: {PG_URL.split('@')[-1]} answers; PostgreSQL tests run."]
    ci = os.environ.get("CI", "").lower() == "true"
    verdict = "CI=true, so they FAIL" if ci else "they are SKIPPED (listed at the end)"
    return [f"PostgreSQL: {PG_URL.split('@')[-1]} does not answer ({problem}); {verdict}."]
