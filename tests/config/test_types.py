"""Durations as operators write them (30m, 1h, 2h30m, 1d) and the ones refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h", 3600), ("2h30m", 9000), ("90s", 90), ("1d", 86400), ("1H 5M", 3900), (45, 45)],
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1 hour", "h", "5x", "-5m", "0", "1h-5m", True, None, [1]])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
