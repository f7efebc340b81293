"""One bot wired like bot/app.py minus Slack, for the workflow tests: the real store, the real ECS client
against the simulator, real background tasks; the chat ports are the doubles of `fake_ports`.

`Env` is what a test drives (submit, decide, settle, reveal); `Replica` one process of it on the same
database and cloud. The fixtures that build them are in conftest.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from support.clock import FakeClock

from bot.config import Target
from bot.domain import (
    Decision,
    NewRequest,
    NewServer,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
)
from bot.ecs import EcsClient, RetryPolicy
from bot.simulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, Fleet, RecordedCall, Simulator
from bot.store import Store
from bot.store.records import RevealResult
from bot.workflow import (
    DeliveredSecret,
    Executor,
    NotShown,
    Submission,
    Sweeper,
    TaskKeeper,
    Workflow,
)

from .fake_ports import DictDirectory, RecordingNotifier

REQUESTER = "UREQ1"
APPROVERS = ("UAPP1", "UAPP2", "UAPP3")
LEADS = frozenset(f"ULEAD{i:02d}" for i in range(60))
"""Members of the `@leads` user group in the test directory."""
TARGET_NAME = "prod-eu-de"
ENVIRON = {"SIM_AK": DEMO_ACCESS_KEY, "SIM_SK": DEMO_SECRET_KEY}
FAST_RETRY = RetryPolicy(max_attempts=2, deadline_s=5.0, initial_backoff_s=0.01, max_backoff_s=0.05)


@dataclass
class Database:
    backend: str
    url: str
    schema: str | None = None
    path: Path | None = None

    def file_bytes(self) -> bytes:
        """Everything SQLite wrote to disk (main file, WAL, journal)."""
        assert self.path is not None
        chunks = []
        for suffix in ("", "-wal", "-shm", "-journal"):
            candidate = self.path.with_name(self.path.name + suffix)
            if candidate.exists():
                chunks.append(candidate.read_bytes())
        return b"\n".join(chunks)


def build_target(url: str = "http://127.0.0.1:9", **overrides: Any) -> Target:
    """A valid Target pointing at the simulator; keyword arguments override any field."""
    data: dict[str, Any] = {
        "name": TARGET_NAME,
        "cloud": "otc",
        "region": "eu-de",
        "project_id": DEMO_PROJECT_ID,
        "ecs_endpoint": url,
        "iam_endpoint": url,
        "auth": {"type": "aksk", "access_key_env": "SIM_AK", "secret_key_env": "SIM_SK"},
        "approvers": list(APPROVERS),
        "approvals_required": 1,
        "approvers_channel": "CAPPROVERS",
    }
    data.update(overrides)
    return Target.model_validate(data, context={"environ": ENVIRON})


def small_fleet() -> Fleet:
    """A handful of servers with every trait the workflow cares about."""
    fleet = Fleet()
    for i in range(1, 5):
        fleet.add(f"web-{i:02d}", addresses=[f"10.0.1.{i}"], tags=["env=prod", "team=web"])
    fleet.add("win-01", os_type="Windows", addresses=["10.0.2.1"], tags=["env=prod", "team=desk"])
    fleet.add("locked-01", locked=True, addresses=["10.0.3.1"], tags=["env=dev"])
    fleet.add("noplug-01", plugin_installed=False, addresses=["10.0.4.1"], tags=["env=dev"])
    fleet.add("twin", addresses=["10.0.5.1"])
    fleet.add("twin", addresses=["10.0.5.2"])
    return fleet


@dataclass
class Replica:
    """One process of the bot: its own store connection pool, tasks, executor and sweeper."""

    store: Store
    tasks: TaskKeeper
    executor: Executor
    workflow: Workflow
    sweeper: Sweeper

    async def settle(self, timeout_s: float = 20.0) -> None:
        await self.tasks.idle(timeout_s)


@dataclass
class Env:
    """A whole bot wired like bot/app.py, minus Slack."""

    db: Database
    sim: Simulator
    target: Target
    clients: dict[str, EcsClient]
    notifier: RecordingNotifier
    directory: DictDirectory
    main: Replica
    open_replica: Callable[[str], Awaitable[Replica]]
    clock: FakeClock
    """Every replica's clock: time passes when a test advances it."""
    extra: list[Replica] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.main.store

    @property
    def workflow(self) -> Workflow:
        return self.main.workflow

    @property
    def sweeper(self) -> Sweeper:
        return self.main.sweeper

    @property
    def tasks(self) -> TaskKeeper:
        return self.main.tasks

    async def settle(self, timeout_s: float = 20.0) -> None:
        """Waits for every background task of every replica (notices, pre-flight, execution)."""
        for replica in [self.main, *self.extra]:
            await replica.settle(timeout_s)
        for replica in [self.main, *self.extra]:
            await replica.settle(timeout_s)

    async def replica(self, worker_id: str) -> Replica:
        replica = await self.open_replica(worker_id)
        self.extra.append(replica)
        return replica

    async def reveal(
        self, token: str, user_id: str, *, refuse: str | None = None
    ) -> tuple[RevealResult, list[DeliveredSecret]]:
        """Reveals through a front end that shows the secrets (returned), or refuses with `refuse`."""
        shown: list[DeliveredSecret] = []

        async def show(request_id: int, secrets: Sequence[DeliveredSecret]) -> None:
            if refuse is not None:
                raise NotShown(refuse)
            shown.extend(secrets)

        return await self.workflow.reveal(token, user_id, show), shown

    def sid(self, name: str) -> str:
        server = self.sim.fleet.by_name(name)
        assert server is not None, name
        return server.id

    def resets(self, *, dry_run: bool = False) -> list[RecordedCall]:
        """Batch reset calls the cloud answered, real ones by default."""
        return [
            c
            for c in self.sim.calls_to("/os-reset-passwords", "PUT")
            if isinstance(c.body, dict) and c.body.get("dry_run") is dry_run
        ]

    def reset_server_ids(self) -> list[str]:
        return [s["id"] for c in self.resets() for s in c.body["servers"]]

    async def status(self, request_id: int) -> RequestStatus:
        request = await self.store.get_request(request_id)
        assert request is not None
        return request.status

    async def submit_ready(self, names: Sequence[str], **kwargs: Any) -> RequestRecord:
        """Submits and waits for pre-flight; the request is pending."""
        values: dict[str, Any] = {
            "target": self.target.name,
            "requester_id": REQUESTER,
            "server_refs": list(names),
            "reason": "INC-1 locked out",
        }
        values.update(kwargs)
        result = await self.workflow.submit(Submission(**values))
        assert result.request is not None, result.errors
        await self.settle()
        request = await self.store.get_request(result.request.id)
        assert request is not None
        assert request.status == RequestStatus.PENDING, request.outcome_message
        return request

    async def run_to_end(self, names: Sequence[str], **kwargs: Any) -> RequestRecord:
        """Submits, approves with enough approvers and waits for the execution to finish."""
        request = await self.submit_ready(names, **kwargs)
        for approver in APPROVERS[: request.approvals_required]:
            result = await self.workflow.decide(request.id, approver, Decision.APPROVE)
            assert result.ok, result.message
        await self.settle()
        final = await self.store.get_request(request.id)
        assert final is not None
        return final

    async def insert_request(
        self,
        names: Sequence[str],
        *,
        status: RequestStatus = RequestStatus.PENDING,
        expires_in: timedelta = timedelta(hours=1),
        password_mode: PasswordMode = PasswordMode.SHARED,
        reboot: RebootMode = RebootMode.NONE,
        approvals_required: int = 1,
    ) -> RequestRecord:
        """A request written straight into the store, as a previous process would have left it."""
        servers = []
        for name in names:
            sim_server = self.sim.fleet.by_name(name)
            assert sim_server is not None
            servers.append(
                NewServer(
                    server_id=sim_server.id,
                    name=name,
                    os_type=sim_server.os_type,
                    cloud_status=sim_server.status,
                    plugin_installed=True,
                )
            )
        new = NewRequest(
            target=self.target.name,
            requester_id=REQUESTER,
            reason="INC-9 left behind",
            password_mode=password_mode,
            reboot=reboot,
            approvals_required=approvals_required,
            expires_at=self.clock.now() + expires_in,
            status=status,
        )
        return (await self.store.create_request_once(new, servers)).request


EnvFactory = Callable[..., Awaitable[Env]]
