"""What the simulator saw: every call, with passwords masked, for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MASK = "***"
#: Keys whose string values are secrets (the reset password; IAM's user password).
SECRET_KEYS = frozenset({"new_password", "password", "adminPass"})


@dataclass(frozen=True)
class RecordedCall:
    """One request as answered: the body is the parsed request JSON with secrets masked."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any
    request_id: str = ""
    auth: str = "none"  # "aksk", "token" or "none"
    error_code: str | None = None
    started_at: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class Arrival:
    """One request as it arrived, before latency and handling (what a client that died had sent)."""

    method: str
    path: str
    at: float
    body: Any

    @property
    def server_ids(self) -> list[str]:
        """The servers the request names: a batch's `servers`, or the one in the path."""
        if isinstance(self.body, dict) and isinstance(self.body.get("servers"), list):
            return [s["id"] for s in self.body["servers"] if isinstance(s, dict) and "id" in s]
        parts = self.path.split("/")
        if "cloudservers" in parts and len(parts) > parts.index("cloudservers") + 2:
            return [parts[parts.index("cloudservers") + 1]]
        return []


def redact(value: Any) -> Any:
    """A copy of the JSON value with every secret string replaced by `***`."""
    if isinstance(value, dict):
        return {
            key: MASK if key in SECRET_KEYS and isinstance(item, str) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
