"""The value types the targets file and the environment share: durations, principals, URLs, names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, NamedTuple

from pydantic import (
    BeforeValidator,
    Field,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)


_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """`30m`, `1h`, `2h30m`, `90s`, `1d`, or a number of seconds, as a timedelta (strictly positive)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 1h, 2h30m or 90s")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts).lower() != text.lower():
                raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 1h, 2h30m or 90s")
            seconds = sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts)
    else:
        raise ValueError("expected a duration such as 30m, 1h, 2h30m or 90s")
    if seconds <= 0:
        raise ValueError("the duration must be more than zero, e.g. 30m or 1h")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def http_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError(
            f"{value!r} is not a URL; write it with its scheme and host, e.g. https://host.example.com"
        )
    return value


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


_GROUP_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")


Principal = Annotated[str, Field(pattern=r"^(@[a-z0-9][a-z0-9._-]*|[UWS][A-Z0-9]{2,})$")]


EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


ChannelId = Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,}$")]


class Principals(NamedTuple):
    """A requesters/approvers list split by kind, for the policy checks."""

    user_ids: frozenset[str]
    group_handles: frozenset[str]
    """Without the leading @."""
    group_ids: frozenset[str]


def split_principals(values: Sequence[str]) -> Principals:
    return Principals(
        frozenset(v for v in values if _USER_ID.match(v)),
        frozenset(v[1:] for v in values if _GROUP_HANDLE.match(v)),
        frozenset(v for v in values if _GROUP_ID.match(v)),
    )
