"""Refused credentials must not lock the access key: the gate decides, call by call, whether one may go.

The API gateway refuses a bad AK/SK signature (a wrong or revoked key, a clock more than 15 minutes off)
with `401 APIGW.0301`, and after five refused signatures in a row it locks the key for 5 minutes, for
every user of the key. A bot that sends its calls in parallel can do that in one burst.

What the gate guarantees, per credential (one `Caller`), with `C` = the bound on calls in flight:
- While the credentials are unproven (at start, after `proven_for_s` without an accepted answer, and
  after a refusal) calls go one at a time: the first answer decides for the others. A credential bad
  from the start costs one refused call, not `C`.
- After any refusal-shaped answer (`EcsCredentialsRefused` from a call that was sent) no call is sent
  until the hold runs out; then one call probes. The hold doubles with each refusal in a row, from
  `refused_for_s` to `max_refused_for_s` (the gateway's 5-minute lockout; at once after five refusals in
  a row): with the defaults, however often calls are asked for, a credential that stays bad is refused
  at 0, 1, 3 and 7 minutes at the earliest, the 5th refusal in a row (the lockout) comes 12 minutes after
  the first, and at most one probe per 5 minutes after that.
- The check is made when the call is about to go (inside the bound, just before it is signed), so calls
  queued behind the bound when the refusal arrives are never sent.
- An accepted answer proves the credentials only for calls sent after the latest refused one: an
  answer to an older call that comes back late does not reopen the gate.
- What it cannot prevent: calls already sent when the credentials go bad (a key revoked or a clock
  jumping mid-run) are refused too; at most `C` calls are on the wire, so the gateway sees at most `C`
  refusals in a row from one such change, and with `C >= 5` that change can lock the key for 5 minutes.
  The hold after it is then `max_refused_for_s`, which outlasts the lockout.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.clock import SYSTEM_CLOCK, Clock
from bot.ecs.errors import EcsCredentialsRefused

#: The gateway locks an access key for this long after `LOCKOUT_AFTER` refused signatures in a row.
LOCKOUT_S = 300.0
LOCKOUT_AFTER = 5


@dataclass(frozen=True, slots=True)
class Pass:
    """One call let through: its place in the order calls went, and whether it is the probe."""

    ticket: int
    probe: bool


class CredentialGate:
    """Shared by every call made with one credential (one `EcsClient`)."""

    def __init__(
        self,
        *,
        proven_for_s: float = 60.0,
        refused_for_s: float = 60.0,
        max_refused_for_s: float = LOCKOUT_S,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._proven_for_s = proven_for_s
        self._refused_for_s = refused_for_s
        self._max_refused_for_s = max(max_refused_for_s, refused_for_s)
        self._clock = clock
        self._proven_until = float("-inf")
        self._refused: EcsCredentialsRefused | None = None
        self._refused_until = float("-inf")
        #: Refused answers since the last accepted one (the gateway's count toward its lockout).
        self.refused_in_a_row = 0
        self._tickets = 0
        self._last_refused_ticket = -1
        self._probing = False
        self._settled = asyncio.Event()

    @property
    def refusal(self) -> EcsCredentialsRefused | None:
        """The refusal in force: the credentials were refused and the hold has not run out."""
        if self._refused is not None and self._clock.monotonic() < self._refused_until:
            return self._refused
        return None

    async def enter(self) -> Pass:
        """Wait until this call may go; call it just before sending, and report the outcome with
        `accepted`, `refused` or `inconclusive`.

        Raises `EcsCredentialsRefused` (`sent` False) while a refusal is in force.
        """
        while True:
            refusal = self.refusal
            if refusal is not None:
                raise refusal.not_attempted()
            if self._clock.monotonic() < self._proven_until:
                return self._pass(probe=False)
            if not self._probing:
                self._probing = True
                self._settled = asyncio.Event()
                return self._pass(probe=True)
            if self._settled.is_set():  # woken for a proof or a refusal that has since run out
                self._settled = asyncio.Event()
            await self._settled.wait()

    def accepted(self, sent: Pass) -> None:
        """An answer showed the credentials are accepted (any answer but a refusal)."""
        if sent.ticket > self._last_refused_ticket:
            self._proven_until = self._clock.monotonic() + self._proven_for_s
            self._refused = None
            self.refused_in_a_row = 0
            self._settled.set()  # calls waiting for a proof may go, even with a probe still out
        self._end_probe(sent)

    def refused(self, sent: Pass, error: EcsCredentialsRefused) -> None:
        """The cloud refused the credentials of a call that was sent: nothing goes during the hold."""
        self.refused_in_a_row += 1
        self._last_refused_ticket = max(self._last_refused_ticket, sent.ticket)
        hold = min(self._refused_for_s * 2 ** (self.refused_in_a_row - 1), self._max_refused_for_s)
        if self.refused_in_a_row >= LOCKOUT_AFTER:
            hold = self._max_refused_for_s  # the gateway has probably locked the key: outlast it
        self._refused = error
        self._refused_until = max(self._refused_until, self._clock.monotonic() + hold)
        self._proven_until = float("-inf")
        self._end_probe(sent)
        self._settled.set()  # calls waiting for a probe's answer now fail unsent

    def inconclusive(self, sent: Pass) -> None:
        """The call got no answer (network, timeout): if it was the probe, the next waiting call probes."""
        self._end_probe(sent)

    def _pass(self, *, probe: bool) -> Pass:
        self._tickets += 1
        return Pass(self._tickets, probe)

    def _end_probe(self, sent: Pass) -> None:
        if sent.probe:
            self._probing = False
            self._settled.set()
