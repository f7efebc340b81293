"""The batch-reset password rules as the simulated ECS enforces them (Ecs.0011).

Written from reference/ecs-api.md on purpose, independently of bot/passwords.py:
the simulator is the yardstick the bot's generator is measured against.
"""

from __future__ import annotations

import string

MIN_LENGTH = 8
MAX_LENGTH = 26
SPECIALS = frozenset("!@%-_=+[]:./?")
CHARACTER_CLASSES = (
    frozenset(string.ascii_uppercase),
    frozenset(string.ascii_lowercase),
    frozenset(string.digits),
    SPECIALS,
)
ALLOWED = frozenset().union(*CHARACTER_CLASSES)
USER_NAMES = ("root", "administrator")
WINDOWS_USER = "administrator"


def password_violations(password: str, *, windows: bool = False) -> list[str]:
    """Every rule the password breaks, as short sentences; empty when it is acceptable.

    Name checks are case-insensitive (the stricter reading of an unconfirmed fact).
    """
    problems: list[str] = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    if not set(password) <= ALLOWED:
        problems.append("contains a character that is not a letter, a digit or one of !@%-_=+[]:./?")
    classes = sum(1 for chars in CHARACTER_CLASSES if chars.intersection(password))
    if classes < 3:
        problems.append("needs at least three of: upper case, lower case, digits, special characters")
    lowered = password.lower()
    for name in USER_NAMES:
        if name in lowered or name[::-1] in lowered:
            problems.append(f"must not contain the user name {name!r} or it reversed")
    if windows and any(WINDOWS_USER[i : i + 3] in lowered for i in range(len(WINDOWS_USER) - 2)):
        problems.append("on Windows must not contain three consecutive characters of 'Administrator'")
    return problems
