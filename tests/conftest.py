"""Suite-wide: say up front whether the PostgreSQL tests will run, so a skip is never silent."""

from __future__ import annotations

import asyncio
import os

import pytest
from support.pg import postgres_problem, shown_url


def pytest_report_header(config: pytest.Config) -> list[str]:
    problem = asyncio.run(postgres_problem())
    if problem is None:
        return [f"PostgreSQL: {shown_url()} answers; the PostgreSQL tests run."]
    ci = os.environ.get("CI", "").lower() == "true"
    verdict = "CI=true, so they FAIL" if ci else "they are SKIPPED (each listed with its reason at the end)"
    return [f"PostgreSQL: {shown_url()} does not answer ({problem}); {verdict}."]
