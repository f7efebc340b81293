"""Everything the simulated cloud knows and every knob a test can turn, in one object.

The aiohttp handlers read it through the app; `Simulator` extends it with start/stop, so
`sim.latency_s = 0.05` or `sim.batch_api_available = False` takes effect on the next call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from aiohttp import web

from bot.simulator.auth import Clock, KeyGuard, SimUser, TokenStore
from bot.simulator.faults import BEHAVIOURS, Fault, FaultKind
from bot.simulator.fleet import Fleet
from bot.simulator.jobs import JobBook
from bot.simulator.records import Arrival, RecordedCall

DEMO_PROJECT_ID = "0123456789abcdef0123456789abcdef"
DEMO_PROJECT_NAME = "eu-de"
DEMO_ACCESS_KEY = "SIMDEMOACCESSKEY0000"
DEMO_SECRET_KEY = "simDemoSecretKey0000000000000000000000000"
DEMO_USER = SimUser(name="demo-user", password="Demo-Passw0rd", domain="OTC00000000001000000000")


class SimState:
    """Configuration, fleet, tokens, jobs, faults, records and counters of one simulator."""

    def __init__(
        self,
        fleet: Fleet | None = None,
        *,
        project_id: str = DEMO_PROJECT_ID,
        project_name: str = DEMO_PROJECT_NAME,
        access_keys: Mapping[str, str] | None = None,
        users: Sequence[SimUser] | None = None,
        latency_s: float = 0.0,
        batch_api_available: bool = True,
        token_lifetime_s: float = 86400.0,
        job_polls_to_finish: int = 3,
        job_duration_s: float | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.fleet = fleet if fleet is not None else Fleet()
        self.project_id = project_id
        self.project_name = project_name
        self.access_keys: dict[str, str] = dict(
            access_keys if access_keys is not None else {DEMO_ACCESS_KEY: DEMO_SECRET_KEY}
        )
        self.users: list[SimUser] = list(users if users is not None else [DEMO_USER])
        self.latency_s = latency_s
        self.batch_api_available = batch_api_available
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock
        self.tokens = TokenStore(self.now)
        self.key_guard = KeyGuard(self.now)
        self.jobs = JobBook(
            self.fleet, self.now, polls_to_finish=job_polls_to_finish, duration_s=job_duration_s
        )
        self.faults: list[Fault] = []
        self.calls: list[RecordedCall] = []
        self.in_flight = 0
        self.max_in_flight = 0
        #: Every request as it arrives, before latency and handling: what a client that dies mid-call
        #: had already sent.
        self.arrivals: list[Arrival] = []
        self.stopping = asyncio.Event()

    def now(self) -> float:
        """The current time from the injectable clock (re-read so tests can swap `clock`)."""
        return self.clock()

    def add_fault(
        self,
        kind: FaultKind | Fault,
        path: str = ".*",
        *,
        method: str | None = None,
        times: int | None = 1,
        retry_after: float | None = None,
        hold_s: float = 30.0,
        after: int = 0,
    ) -> Fault:
        """Inject a failure (see `Fault` for the kinds) and return the rule, whose `hits` count firings;
        `after` matching requests are answered normally first."""
        if isinstance(kind, Fault):
            fault = kind
        else:
            fault = Fault(
                kind, path, method=method, times=times, retry_after=retry_after, hold_s=hold_s, after=after
            )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected failure."""
        self.faults.clear()

    def matching_fault(self, method: str, path: str) -> Fault | None:
        """The first rule with firings left that applies, already counted as fired (behaviours, which
        handlers ask for with `behaviour`, excluded)."""
        for fault in self.faults:
            if fault.kind not in BEHAVIOURS and fault.fire(method, path):
                return fault
        return None

    def behaviour(self, kind: FaultKind, method: str, path: str) -> Fault | None:
        """The rule of this behaviour kind that applies to the request, already counted as fired."""
        for fault in self.faults:
            if fault.kind == kind and fault.fire(method, path):
                return fault
        return None

    def calls_to(self, path_fragment: str, method: str | None = None) -> list[RecordedCall]:
        """Recorded calls whose path contains the fragment (and with that method, if given)."""
        return [
            call
            for call in self.calls
            if path_fragment in call.path and (method is None or call.method == method.upper())
        ]

    def reset_stats(self) -> None:
        """Forget recorded calls and the in-flight maximum (e.g. between benchmark phases)."""
        self.calls.clear()
        self.max_in_flight = self.in_flight

    @property
    def tokens_issued(self) -> int:
        """How many tokens IAM issued, to check that a client caches its token."""
        return self.tokens.issued_count

    def revoke_tokens(self, token: str | None = None) -> None:
        """Revoke one token, or all of them, as if IAM revoked them before expiry."""
        self.tokens.revoke(token)


#: Where the aiohttp app keeps its SimState.
STATE = web.AppKey("simulator_state", SimState)
#: Request keys set by the middleware: the parsed JSON body (None when empty) and whether it parsed.
BODY = web.RequestKey("sim_json_body", object)
BODY_OK = web.RequestKey("sim_json_ok", bool)
