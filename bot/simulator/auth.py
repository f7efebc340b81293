"""Who may call the simulated API: IAM tokens it issued and AK/SK pairs it was given.

The gateway behaviour the client must cope with lives here: stale-date rejection, and
the lockout of an access key after five bad signatures in a row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

Clock = Callable[[], float]

MAX_CLOCK_SKEW_S = 15 * 60
LOCKOUT_AFTER_FAILURES = 5
LOCKOUT_S = 5 * 60


@dataclass(frozen=True)
class SimUser:
    """An IAM user that may obtain a token with password authentication."""

    name: str
    password: str = field(repr=False)
    domain: str


@dataclass(frozen=True)
class IssuedToken:
    """What the simulator remembers about a token it issued."""

    user: str
    project_id: str
    expires_at: float


class TokenStore:
    """Tokens issued by the simulated IAM, with expiry against the injectable clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}
        self.issued_count = 0

    def issue(self, user: str, project_id: str, lifetime_s: float) -> tuple[str, IssuedToken]:
        """A new opaque token valid for lifetime_s."""
        token = "MIIsim" + secrets.token_urlsafe(48)
        issued = IssuedToken(user=user, project_id=project_id, expires_at=self._clock() + lifetime_s)
        self._tokens[token] = issued
        self.issued_count += 1
        return token, issued

    def valid(self, token: str) -> IssuedToken | None:
        """The token's record when it exists and has not expired, else None."""
        issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= self._clock():
            return None
        return issued

    def revoke(self, token: str | None = None) -> None:
        """Revoke one token, or every token when none is given (as if IAM revoked them early)."""
        if token is None:
            self._tokens.clear()
        else:
            self._tokens.pop(token, None)


@dataclass
class _KeyState:
    failures: int = 0
    locked_until: float = 0.0


class KeyGuard:
    """Counts consecutive bad signatures per access key and locks the key as the gateway does."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, _KeyState] = {}

    def locked(self, access_key: str) -> bool:
        """True while the key is locked out."""
        state = self._keys.get(access_key)
        return state is not None and state.locked_until > self._clock()

    def record(self, access_key: str, *, good: bool) -> None:
        """Note one signature check; the fifth failure in a row starts a lockout."""
        state = self._keys.setdefault(access_key, _KeyState())
        if good:
            state.failures = 0
            return
        state.failures += 1
        if state.failures >= LOCKOUT_AFTER_FAILURES:
            state.locked_until = self._clock() + LOCKOUT_S
            state.failures = 0


def sdk_date_skew(sdk_date: str, now: float) -> float | None:
    """Seconds between X-Sdk-Date and now, or None when the header is not in `%Y%m%dT%H%M%SZ`."""
    try:
        sent = datetime.strptime(sdk_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return abs(sent.timestamp() - now)
