"""Workflow fixtures: the real store, the real ECS client against the real simulator, real background tasks.

Only the two ports to the chat front end (Notifier, Directory) are test doubles: a recording notifier
and a dict of user groups. `make_env(...)` builds one bot (a "replica"); `env.replica(...)` a second one
on the same database and cloud.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from support.clock import FakeClock
from support.pg import PG_URL, fresh_schema

from bot.app import ecs_client
from bot.config import Target
from bot.domain import (
    Decision,
    MessageRef,
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
    Delivered,
    DeliveredSecret,
    ExecutionSettings,
    Executor,
    Inventory,
    NotShown,
    Policy,
    RequestView,
    SentMessages,
    Submission,
    Sweeper,
    SweepSettings,
    TaskKeeper,
    Workflow,
    WorkflowEvent,
)

REQUESTER = "UREQ1"
APPROVERS = ("UAPP1", "UAPP2", "UAPP3")
LEADS = frozenset(f"ULEAD{i:02d}" for i in range(60))
"""Members of the `@leads` user group in the test directory."""
TARGET_NAME = "prod-eu-de"
ENVIRON = {"SIM_AK": DEMO_ACCESS_KEY, "SIM_SK": DEMO_SECRET_KEY}
FAST_RETRY = RetryPolicy(max_attempts=2, deadline_s=5.0, initial_backoff_s=0.01, max_backoff_s=0.05)


# -- PostgreSQL or SQLite ------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run the test on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_databases") and "database" in metafunc.fixturenames:
        metafunc.parametrize(
            "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
        )


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


@pytest.fixture
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite unless a test is marked `both_databases` (then also a fresh PostgreSQL schema)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        path = tmp_path / "bot.db"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", path=path)
        return
    async with fresh_schema("wf") as schema:
        yield Database("postgres", PG_URL, schema=schema)


# -- the ports: a recording notifier and a dict directory ---------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One call on the notifier, with the view it was drawn from."""

    kind: str
    view: RequestView
    event: WorkflowEvent | None = None
    secrets: tuple[DeliveredSecret, ...] = ()
    reveal_token: str | None = None
    reveal_expires_at: datetime | None = None
    told: tuple[str, ...] = ()
    """The people a break-glass notice names (its approvers)."""


def posted_at(channel_id: str, view: RequestView) -> MessageRef:
    """Where a fake post about this request went: unique per request."""
    return MessageRef(channel_id, f"{view.request.id}.000100")


class RecordingNotifier:
    """A Notifier that remembers every call; `fail=True` makes each call raise, like a chat outage.
    Posting calls answer with a made-up place per message (`posted_at`), as a front end does."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.fail = False
        self.held: dict[str, asyncio.Event] = {}
        """A request_updated call with this event kind waits until its event is set (a slow Slack)."""

    def _record(self, notice: Notice) -> None:
        self.notices.append(notice)
        if self.fail:
            raise RuntimeError("chat is down")

    async def request_submitted(self, view: RequestView) -> SentMessages:
        self._record(Notice("request_submitted", view))
        return {"dm": posted_at("DREQUESTER", view)}

    async def request_ready(self, view: RequestView) -> SentMessages:
        self._record(Notice("request_ready", view))
        return {"card": posted_at("CAPPROVERS", view)}

    async def request_updated(self, view: RequestView, event: WorkflowEvent) -> None:
        held = self.held.get(event.kind.value)
        if held is not None:
            await held.wait()
        self._record(Notice("request_updated", view, event))

    async def deliver_secret(
        self,
        view: RequestView,
        secrets: Sequence[DeliveredSecret],
        reveal_token: str,
        reveal_expires_at: datetime,
    ) -> Delivered:
        self._record(Notice("deliver_secret", view, None, tuple(secrets), reveal_token, reveal_expires_at))
        return Delivered({"reveal": posted_at("DREQUESTER", view)}, reached=True)

    async def retry_failed(
        self, load: Callable[[int], Awaitable[RequestView | None]]
    ) -> Mapping[int, SentMessages]:
        return {}

    async def remind_approvers(self, view: RequestView) -> None:
        self._record(Notice("remind_approvers", view))

    async def ensure_shown(self, view: RequestView) -> SentMessages:
        self._record(Notice("ensure_shown", view))
        return {}

    async def break_glass_started(self, view: RequestView, approvers: Sequence[str]) -> SentMessages:
        self._record(Notice("break_glass_started", view, told=tuple(approvers)))
        return {"card": posted_at("CAPPROVERS", view)}

    async def remind_review(self, view: RequestView, approvers: Sequence[str]) -> None:
        self._record(Notice("remind_review", view, told=tuple(approvers)))

    def of(self, request_id: int, kind: str | None = None) -> list[Notice]:
        return [
            n for n in self.notices if n.view.request.id == request_id and (kind is None or n.kind == kind)
        ]

    def kinds(self, request_id: int) -> list[str]:
        return [n.kind for n in self.of(request_id)]

    def events(self, request_id: int) -> list[str]:
        return [n.event.kind.value for n in self.of(request_id, "request_updated") if n.event]

    def delivered(self, request_id: int) -> Notice:
        found = self.of(request_id, "deliver_secret")
        assert len(found) == 1, f"expected one delivery, got {len(found)}"
        return found[0]


def group_id_of(handle: str) -> str:
    """The ID DictDirectory gives the group with this handle (`leads` -> `SLEADS`)."""
    return "S" + re.sub(r"[^A-Z0-9]", "", handle.upper())


class DictDirectory:
    """A Directory over a dict of handle -> members (IDs from `group_id_of`); `fail=True` makes every
    lookup raise. Never caches: each read is what the dict holds then, as Slack would answer."""

    def __init__(self, groups: Mapping[str, frozenset[str]] | None = None) -> None:
        self.groups = dict(groups or {})
        self.ids: dict[str, str] = {}
        """Handle -> ID where it is not `group_id_of(handle)` (a group renamed, another made)."""
        self.fail = False
        self.lookups: list[str] = []
        self.forgotten: list[str] = []

    def id_of(self, handle: str) -> str:
        return self.ids.get(handle) or group_id_of(handle)

    async def members_of(self, group_id: str, *, max_age_s: float) -> frozenset[str]:
        handle = next((h for h in self.groups if self.id_of(h) == group_id), group_id)
        self.lookups.append(handle)
        if self.fail:
            raise RuntimeError("usergroups.users.list failed")
        return self.groups.get(handle, frozenset())

    async def group_ids(self) -> dict[str, str]:
        if self.fail:
            raise RuntimeError("usergroups.list failed")
        return {handle: self.id_of(handle) for handle in self.groups}

    def forget(self, group_id: str) -> None:
        self.forgotten.append(group_id)


# -- targets ---------------------------------------------------------------------------------------------


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


@pytest.fixture
def make_target() -> Callable[..., Target]:
    return build_target


# -- the fleet --------------------------------------------------------------------------------------------


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


# -- one bot ----------------------------------------------------------------------------------------------


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


@pytest.fixture
async def make_env(database: Database) -> AsyncIterator[EnvFactory]:
    """Builds one bot on a fresh simulator: `await make_env(fleet=..., approvals_required=2, ...)`."""
    secret_key = Fernet.generate_key().decode()
    stores: list[Store] = []
    replicas: list[Replica] = []
    sims: list[Simulator] = []
    session = aiohttp.ClientSession()
    clock = FakeClock()

    async def open_store() -> Store:
        store = await Store.open(database.url, secret_keys=[secret_key], schema=database.schema, clock=clock)
        stores.append(store)
        await store.migrate()
        return store

    async def build(
        *,
        fleet: Fleet | None = None,
        directory: DictDirectory | None = None,
        sweep: SweepSettings | None = None,
        lease: timedelta = timedelta(seconds=2),
        reveal_ttl: timedelta = timedelta(minutes=15),
        **target_fields: Any,
    ) -> Env:
        sim = Simulator(fleet if fleet is not None else small_fleet(), job_polls_to_finish=2)
        await sim.start()
        sims.append(sim)
        target = build_target(sim.url, **target_fields)
        targets = {target.name: target}
        clients = {target.name: ecs_client(session, target, concurrency=10, timeout_s=5.0, retry=FAST_RETRY)}
        notifier = RecordingNotifier()
        directory = directory or DictDirectory({"leads": LEADS})
        sweep_settings = sweep or SweepSettings(interval_s=0.05)

        async def open_replica(worker_id: str) -> Replica:
            store = await open_store()
            tasks = TaskKeeper()
            executor = Executor(
                store=store,
                targets=targets,
                clients=clients,
                notifier=notifier,
                settings=ExecutionSettings(
                    worker_id=worker_id,
                    reveal_ttl=reveal_ttl,
                    lease=lease,
                    reboot_timeout_s=5.0,
                    job_poll_interval_s=0.01,
                ),
                clock=clock,
            )
            policy = Policy(targets, directory)
            await policy.pin_groups()
            workflow = Workflow(
                store=store,
                targets=targets,
                clients=clients,
                inventory=Inventory(clients, clock=clock),
                policy=policy,
                notifier=notifier,
                tasks=tasks,
                executor=executor,
                clock=clock,
            )
            replica = Replica(store, tasks, executor, workflow, Sweeper(workflow, executor, sweep_settings))
            replicas.append(replica)
            return replica

        main = await open_replica("worker-main")
        return Env(database, sim, target, clients, notifier, directory, main, open_replica, clock)

    yield build
    for replica in replicas:
        await replica.tasks.drain(5.0)
    for store in stores:
        await store.close()
    await session.close()
    for sim in sims:
        await sim.stop()
    await asyncio.sleep(0)


@pytest.fixture
async def env(make_env: EnvFactory) -> Env:
    """The default bot: small fleet, one approval of UAPP1..3 needed, anyone may request."""
    return await make_env()
