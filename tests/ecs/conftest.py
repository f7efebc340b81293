"""Fixtures for the ECS client tests: a scripted fake cloud on 127.0.0.1, a session, a client factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.fake_cloud import FAST_RETRY, PROJECT, FakeCloud

from bot.ecs import AkSkCredentials, EcsClient, Endpoints


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    fake = FakeCloud()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    fake.released.set()
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def make_client(cloud: FakeCloud, session: aiohttp.ClientSession) -> Callable[..., EcsClient]:
    def build(**kwargs: Any) -> EcsClient:
        kwargs.setdefault("retry", FAST_RETRY)
        credentials = kwargs.pop("credentials", AkSkCredentials(access_key="AK", secret_key="SK-secret"))
        endpoints = kwargs.pop("endpoints", Endpoints(ecs=cloud.url, iam=cloud.url))
        return EcsClient(session, endpoints, PROJECT, credentials, **kwargs)

    return build
