"""At most one doomed call in flight per credential: calls wait for a proof that the cloud accepts them.

The API gateway locks an access key for 5 minutes after five bad signatures in a row (a clock off by more
than 15 minutes makes every signature bad), so a bot that sends its calls in parallel with refused
credentials locks its own key. The gate lets one call go alone (the probe) until an answer shows the
credentials are accepted; then every call goes at once for a while. After a refusal, calls fail at once
without being sent, for `refused_for_s`, with the refusal's sentence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.ecs.errors import EcsCredentialsRefused


class CredentialGate:
    """Shared by every call made with one credential (one `EcsClient`)."""

    def __init__(
        self,
        *,
        proven_for_s: float = 60.0,
        refused_for_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._proven_for_s = proven_for_s
        self._refused_for_s = refused_for_s
        self._clock = clock
        self._proven_until = float("-inf")
        self._refused: EcsCredentialsRefused | None = None
        self._refused_until = float("-inf")
        self._probing = False
        self._settled = asyncio.Event()

    @property
    def refusal(self) -> EcsCredentialsRefused | None:
        """The refusal in force, if the credentials were refused within `refused_for_s`."""
        if self._refused is not None and self._clock() < self._refused_until:
            return self._refused
        return None

    async def enter(self) -> bool:
        """Wait until this call may go; True if it goes as the probe (its outcome must be reported).

        Raises `EcsCredentialsRefused` (not sent) while a refusal is in force.
        """
        while True:
            refusal = self.refusal
            if refusal is not None:
                raise refusal.not_attempted()
            if self._clock() < self._proven_until:
                return False
            if not self._probing:
                self._probing = True
                self._settled = asyncio.Event()
                return True
            await self._settled.wait()

    def accepted(self) -> None:
        """An answer showed the credentials are accepted (any answer but a refusal)."""
        self._proven_until = self._clock() + self._proven_for_s
        self._refused = None
        self._end_probe()

    def refused(self, error: EcsCredentialsRefused) -> None:
        """The cloud refused the credentials: every call fails unsent for a while."""
        self._refused = error
        self._refused_until = self._clock() + self._refused_for_s
        self._proven_until = float("-inf")
        self._end_probe()

    def inconclusive(self, probe: bool) -> None:
        """The probe got no answer (network, timeout): the next waiting call probes instead."""
        if probe:
            self._end_probe()

    def _end_probe(self) -> None:
        self._probing = False
        self._settled.set()
