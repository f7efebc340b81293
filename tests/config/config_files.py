"""The config tests' aids: a target as DESIGN.md writes it (any key overridden, or dropped with `...`),
the targets file written from it, and the problems loading that file reports."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO_TARGETS = Path(__file__).resolve().parents[2] / "bot" / "demo_targets.yml"
FERNET_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
AK_SECRET = "AKIA-canary-access"
SK_SECRET = "sk-canary-Secret-1234"
IAM_PASSWORD = "iam-canary-Passw0rd"

ENV = {
    "OTC_AK": AK_SECRET,
    "OTC_SK": SK_SECRET,
    "OTC_USER": "svc-reset",
    "OTC_PASSWORD": IAM_PASSWORD,
}


def target(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "prod-eu-de",
        "cloud": "otc",
        "region": "eu-de",
        "project_id": "0123456789abcdef0123456789abcdef",
        "auth": {"type": "aksk", "access_key_env": "OTC_AK", "secret_key_env": "OTC_SK"},
        "requesters": ["@oncall", "U012ABCDEF"],
        "approvers": ["@sre-leads", "U034GHIJKL"],
        "approvals_required": 1,
        "approvers_channel": "C0123456789",
        "request_ttl": "1h",
        "reason_pattern": "^[A-Z]+-[0-9]+",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def problems(tmp_path: Path, data: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data), environ=ENV if environ is None else environ)
    return info.value.problems


def only_problem(tmp_path: Path, data: Any, environ: dict[str, str] | None = None) -> str:
    found = problems(tmp_path, data, environ)
    assert len(found) == 1, found
    return found[0]
