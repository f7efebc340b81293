"""ECS login-password rules written once, as data, plus the one generator and the one checker that read them.

Like a Vault password policy: `PASSWORD_POLICY` holds the facts from reference/ecs-api.md (length, character
classes, forbidden user names, the Windows "Administrator" rule); `generate_password` draws from `secrets`
and rejects any draw that breaks a rule; `check_password` explains which rule a password breaks.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

__all__ = [
    "PASSWORD_POLICY",
    "CharacterClass",
    "PasswordPolicy",
    "Rule",
    "RuleViolation",
    "check_password",
    "generate_password",
]


@dataclass(frozen=True)
class CharacterClass:
    """A named set of characters; a password needs characters from several of them."""

    name: str
    characters: str


@dataclass(frozen=True)
class PasswordPolicy:
    """The batch-reset password rules of the ECS API, as data (see reference/ecs-api.md)."""

    min_length: int
    max_length: int
    default_generated_length: int
    min_generated_length: int
    classes: tuple[CharacterClass, ...]
    min_classes: int
    """How many classes a password must use to be accepted by the API."""
    forbidden_user_names: tuple[str, ...]
    """Neither these nor their reverses may appear, compared case-insensitively."""
    windows_forbidden_source: str
    windows_forbidden_run: int
    """On Windows, no run of this many consecutive characters of `windows_forbidden_source`."""

    @property
    def alphabet(self) -> str:
        """Every allowed character, each once."""
        return "".join(c.characters for c in self.classes)

    @property
    def forbidden_substrings(self) -> tuple[str, ...]:
        """Lower-cased user names and their reverses."""
        names = [n.lower() for n in self.forbidden_user_names]
        return tuple(dict.fromkeys([*names, *(n[::-1] for n in names)]))

    @property
    def windows_forbidden_runs(self) -> frozenset[str]:
        """Every lower-cased substring of length `windows_forbidden_run` of the Windows source word."""
        word, k = self.windows_forbidden_source.lower(), self.windows_forbidden_run
        return frozenset(word[i : i + k] for i in range(len(word) - k + 1))


PASSWORD_POLICY = PasswordPolicy(
    min_length=8,
    max_length=26,
    default_generated_length=20,
    min_generated_length=16,
    classes=(
        CharacterClass("upper case letters", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        CharacterClass("lower case letters", "abcdefghijklmnopqrstuvwxyz"),
        CharacterClass("digits", "0123456789"),
        CharacterClass("special characters", "!@%-_=+[]:./?"),
    ),
    min_classes=3,
    forbidden_user_names=("root", "Administrator"),
    windows_forbidden_source="Administrator",
    windows_forbidden_run=3,
)


class Rule(enum.StrEnum):
    """Identifiers of the rules, stable for tests and for callers that react to a specific rule."""

    LENGTH = "length"
    ALLOWED_CHARACTERS = "allowed_characters"
    CHARACTER_CLASSES = "character_classes"
    USER_NAME = "user_name"
    WINDOWS_ADMINISTRATOR_RUN = "windows_administrator_run"


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule, in a sentence that never quotes the password."""

    rule: Rule
    message: str

    def __str__(self) -> str:
        return self.message


def _applies_windows_rules(os_type: str | None) -> bool:
    """Unknown OS types get the Windows rules too: the stricter reading is always safe."""
    return os_type is None or os_type.strip().lower() != "linux"


def _violations(
    password: str, *, os_type: str | None, min_classes: int, policy: PasswordPolicy
) -> list[RuleViolation]:
    found: list[RuleViolation] = []
    if not policy.min_length <= len(password) <= policy.max_length:
        found.append(
            RuleViolation(
                Rule.LENGTH,
                f"The password must be {policy.min_length} to {policy.max_length} characters long "
                f"(it has {len(password)}).",
            )
        )
    alphabet = set(policy.alphabet)
    outside = sum(1 for c in password if c not in alphabet)
    if outside:
        specials = policy.classes[-1].characters
        found.append(
            RuleViolation(
                Rule.ALLOWED_CHARACTERS,
                f"The password contains {outside} character(s) that are not allowed; use only letters, "
                f"digits and the special characters {specials}.",
            )
        )
    used = [c.name for c in policy.classes if any(ch in c.characters for ch in password)]
    if len(used) < min_classes:
        names = ", ".join(c.name for c in policy.classes)
        found.append(
            RuleViolation(
                Rule.CHARACTER_CLASSES,
                f"The password must use at least {min_classes} of: {names} (it uses {len(used)}).",
            )
        )
    lowered = password.lower()
    for name in policy.forbidden_user_names:
        if name.lower() in lowered or name.lower()[::-1] in lowered:
            found.append(
                RuleViolation(
                    Rule.USER_NAME,
                    f"The password must not contain the user name {name!r} or its reverse "
                    "(in any letter case).",
                )
            )
    if _applies_windows_rules(os_type):
        runs = policy.windows_forbidden_runs
        k = policy.windows_forbidden_run
        if any(lowered[i : i + k] in runs for i in range(len(lowered) - k + 1)):
            found.append(
                RuleViolation(
                    Rule.WINDOWS_ADMINISTRATOR_RUN,
                    f"For Windows, the password must not contain {k} consecutive characters of "
                    f"{policy.windows_forbidden_source!r} (in any letter case).",
                )
            )
    return found


def check_password(
    password: str, *, os_type: str | None = None, policy: PasswordPolicy = PASSWORD_POLICY
) -> list[RuleViolation]:
    """Every rule `password` breaks for a server of `os_type` ("Linux", "Windows"); empty when valid.

    `os_type=None` (or an unknown value) applies the Windows rules too, since a password valid for
    Windows is valid everywhere.
    """
    return _violations(password, os_type=os_type, min_classes=policy.min_classes, policy=policy)


_MAX_ATTEMPTS = 10_000


def _uniform_draw(alphabet: str, length: int) -> str:
    """`length` characters, each uniform over `alphabet`: a byte is kept only below the largest multiple
    of the alphabet's size, so `byte % size` favours no character. Bytes come from `secrets` in bulk,
    several times faster than one `secrets.choice` per character (10,000 per-server passwords at once:
    bench/execution.py --full)."""
    size = len(alphabet)
    limit = 256 - 256 % size
    chosen: list[str] = []
    while len(chosen) < length:
        for byte in secrets.token_bytes(2 * length):
            if byte < limit:
                chosen.append(alphabet[byte % size])
                if len(chosen) == length:
                    break
    return "".join(chosen)


def generate_password(length: int = PASSWORD_POLICY.default_generated_length) -> str:
    """A fresh password of `length` characters valid for both Linux and Windows servers.

    Each character is drawn uniformly from the whole alphabet (`_uniform_draw`: random bytes from
    `secrets`, rejection-sampled, so no modulo bias), and a draw that breaks any rule (including "use every
    class") is thrown away and redrawn. Rejection keeps the result uniform over all valid passwords, so no
    shuffle of forced characters is needed.
    """
    policy = PASSWORD_POLICY
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"length must be an int, not {type(length).__name__}")
    if not policy.min_generated_length <= length <= policy.max_length:
        raise ValueError(
            f"generated passwords must be {policy.min_generated_length} to {policy.max_length} "
            f"characters long, not {length}"
        )
    alphabet = policy.alphabet
    for _ in range(_MAX_ATTEMPTS):
        candidate = _uniform_draw(alphabet, length)
        if not _violations(candidate, os_type=None, min_classes=len(policy.classes), policy=policy):
            return candidate
    # Practically unreachable (about 1 draw in 10 is rejected); failing loudly beats a weak password.
    raise RuntimeError("could not generate a password meeting the policy")  # pragma: no cover
