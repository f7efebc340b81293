"""Workflow fixtures: the real store, the real ECS client against the real simulator, real background tasks.

Only the two ports to the chat front end (Notifier, Directory) are test doubles (fake_ports.py): a
recording notifier and a dict of user groups. `make_env(...)` builds one bot (an `Env` of environment.py,
its first "replica"); `env.replica(...)` a second one on the same database and cloud.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from support.clock import FakeClock
from support.pg import PG_URL, fresh_schema

from bot.app import ecs_client
from bot.config import Target
from bot.simulator import Fleet, Simulator
from bot.store import Store
from bot.workflow import (
    ExecutionSettings,
    Executor,
    Inventory,
    Policy,
    Sweeper,
    SweepSettings,
    TaskKeeper,
    Workflow,
)

from .environment import (
    APPROVERS,
    FAST_RETRY,
    LEADS,
    REQUESTER,
    TARGET_NAME,
    Database,
    Env,
    EnvFactory,
    Replica,
    build_target,
    small_fleet,
)
from .fake_ports import DictDirectory, RecordingNotifier

# What the test modules import from here (`from .conftest import Env, ...`).
__all__ = ["APPROVERS", "LEADS", "REQUESTER", "TARGET_NAME", "DictDirectory", "Env", "EnvFactory"]


# -- PostgreSQL or SQLite ------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run the test on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_databases") and "database" in metafunc.fixturenames:
        metafunc.parametrize(
            "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
        )


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


@pytest.fixture
def make_target() -> Callable[..., Target]:
    return build_target


# -- one bot ----------------------------------------------------------------------------------------------


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
