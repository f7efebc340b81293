"""Listings that cannot lose or duplicate servers, over real HTTP against clouds that answer as seen in the
field: a page size capped below what was asked, `offset` ignored (with and without `count`), repeated pages.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from support.fake_cloud import FakeCloud, Recorded, reply

from bot.ecs import EcsClient
from bot.ecs.listing import MAX_PAGES

LIST = "/v1/pid/cloudservers/detail"


def fleet(n: int) -> list[dict[str, object]]:
    return [{"id": f"id-{i:05d}", "name": f"web-{i}", "status": "ACTIVE"} for i in range(n)]


def capped(servers: list[dict[str, object]], cap: int) -> Callable[[Recorded], web.Response]:
    """Serves at most `cap` per page whatever `limit` asks; `offset` is a page number in its own units
    of the (capped) page size, as the ECS API computes it."""

    def answer(request: Recorded) -> web.Response:
        size = min(int(request.query["limit"]), cap)
        page = max(int(request.query["offset"]), 1)
        return reply(200, {"count": len(servers), "servers": servers[(page - 1) * size : page * size]})

    return answer


def ignoring_offset(
    servers: list[dict[str, object]], count: int | None
) -> Callable[[Recorded], web.Response]:
    def answer(request: Recorded) -> web.Response:
        body: dict[str, object] = {"servers": servers[: int(request.query["limit"])]}
        if count is not None:
            body["count"] = count
        return reply(200, body)

    return answer


async def test_a_capped_page_size_is_followed_to_the_end(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", LIST, capped(fleet(250), cap=100))
    listing = await make_client().list_servers()
    assert sorted(s.id for s in listing.servers) == [f"id-{i:05d}" for i in range(250)]
    assert listing.complete
    assert listing.reported_count == 250
    asked = [(c.query["offset"], c.query["limit"]) for c in cloud.calls("GET", LIST)]
    assert asked == [("1", "1000"), ("2", "100"), ("3", "100")]


async def test_an_ignored_offset_with_a_count_is_reported_incomplete_without_duplicates(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", LIST, ignoring_offset(fleet(3000), count=2500))
    listing = await make_client().list_servers()
    assert len(listing.servers) == 1000
    assert len({s.id for s in listing.servers}) == 1000
    assert not listing.complete
    assert listing.incomplete == "the cloud listed 1000 of 2500 servers (the cloud did not serve the rest)"
    assert len(cloud.calls("GET", LIST)) == 2  # the second page brought nothing new


async def test_an_ignored_offset_without_a_count_ends_and_says_so(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", LIST, ignoring_offset(fleet(3000), count=None))
    listing = await make_client().list_servers()
    assert len(listing.servers) == 1000
    assert listing.incomplete is not None
    assert "repeated a page and gave no count" in listing.incomplete
    assert len(cloud.calls("GET", LIST)) == 2


async def test_pages_that_overlap_are_de_duplicated(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    servers = fleet(1500)

    def shifting(request: Recorded) -> web.Response:
        # A server created between two pages shifts the second by one: its first entry repeats.
        page = int(request.query["offset"])
        chunk = servers[:1000] if page == 1 else servers[999:]
        return reply(200, {"count": 1500, "servers": chunk})

    cloud.on("GET", LIST, shifting)
    listing = await make_client().list_servers()
    assert len(listing.servers) == 1500
    assert len({s.id for s in listing.servers}) == 1500
    assert listing.complete


async def test_a_hard_cap_on_pages(cloud: FakeCloud, make_client: Callable[..., EcsClient]) -> None:
    # A cloud that always serves one new server per page and claims a million: the cap ends it.
    def endless(request: Recorded) -> web.Response:
        page = int(request.query["offset"])
        return reply(
            200, {"count": 1_000_000, "servers": [{"id": f"p{page}", "name": "x", "status": "ACTIVE"}]}
        )

    cloud.on("GET", LIST, endless)
    listing = await make_client().list_servers()
    assert len(cloud.calls("GET", LIST)) == MAX_PAGES
    assert listing.incomplete is not None
    assert f"stopped after {MAX_PAGES} pages" in listing.incomplete


async def test_a_missing_plugin_flag_is_unknown(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("GET", "/v1/pid/cloudservers/a/os-resetpwd-flag", reply(200, {}))
    cloud.on("GET", "/v1/pid/cloudservers/b/os-resetpwd-flag", reply(200, {"resetpwd_flag": "False"}))
    client = make_client()
    assert await client.reset_plugin_installed("a") is None
    assert await client.reset_plugin_installed("b") is False
