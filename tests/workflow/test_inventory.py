"""The server list cache over the real client and simulator: search, resolve, tags, one load at a time."""

from __future__ import annotations

import asyncio

import pytest
from support.polling import eventually

from bot.simulator import Fleet
from bot.workflow import Inventory, InventoryUnavailable, ServerChoice

from .conftest import TARGET_NAME, Env, EnvFactory

T = TARGET_NAME


def _list_calls(env: Env) -> int:
    return len(env.sim.calls_to("/cloudservers/detail", "GET"))


async def test_search_puts_names_starting_with_the_query_first(make_env: EnvFactory) -> None:
    fleet = Fleet()
    for name in ("zapp", "old-app", "app-02", "app-01", "web"):
        fleet.add(name)
    env = await make_env(fleet=fleet)
    found = await env.workflow.inventory.search(T, "APP")
    assert [s.name for s in found] == ["app-01", "app-02", "old-app", "zapp"]
    assert [s.name for s in await env.workflow.inventory.search(T, "app", limit=3)] == [
        "app-01",
        "app-02",
        "old-app",
    ]


async def test_search_by_id_and_ip_and_empty_query_with_limit(env: Env) -> None:
    inventory = env.workflow.inventory
    web2 = env.sid("web-02")
    assert [s.id for s in await inventory.search(T, web2[:13])] == [web2]
    assert [s.name for s in await inventory.search(T, "10.0.1.")] == ["web-01", "web-02", "web-03", "web-04"]
    assert [s.name for s in await inventory.search(T, "10.0.4.1")] == ["noplug-01"]
    first = await inventory.search(T, "  ", limit=3)
    assert [s.name for s in first] == ["locked-01", "noplug-01", "twin"]
    assert await inventory.search(T, "nothing-like-this") == []


async def test_cold_cache_loads_once_for_concurrent_callers(env: Env) -> None:
    env.sim.latency_s = 0.1  # keep the first load in flight while the others arrive
    inventory = env.workflow.inventory
    results = await asyncio.gather(*(inventory.search(T, "web") for _ in range(20)))
    assert all(len(r) == 4 for r in results)
    assert _list_calls(env) == 1
    await inventory.resolve(T, ["web-01"])
    assert _list_calls(env) == 1, "a warm cache must not list again"


async def test_stale_list_is_served_then_refreshed_in_the_background(env: Env) -> None:
    inventory = Inventory(env.clients, max_age_s=0.0)
    assert len(await inventory.search(T, "web")) == 4
    env.sim.fleet.add("web-05", addresses=["10.0.1.5"])
    # The stale list answers at once; a refresh starts behind it.
    assert len(await inventory.search(T, "web")) == 4
    await eventually(
        lambda: any(s.name == "web-05" for s in inventory.cached(T) or []), 10, "the stale list refreshed"
    )
    assert _list_calls(env) >= 2


async def test_resolve_names_ids_ips_unknown_ambiguous_duplicates(env: Env) -> None:
    inventory = env.workflow.inventory
    web1, web2 = env.sid("web-01"), env.sid("web-02")
    resolution = await inventory.resolve(
        T, ["web-01", web2.upper(), "10.0.1.3", "nope-99", "twin", web1, "  ", "WEB-01"]
    )
    assert [s.name for s in resolution.servers] == ["web-01", "web-02", "web-03"]
    assert resolution.unknown == ["nope-99"]
    assert list(resolution.ambiguous) == ["twin"]
    assert len(resolution.ambiguous["twin"]) == 2
    assert resolution.duplicates == [web1, "WEB-01"]


async def test_one_twin_can_be_picked_by_its_id(env: Env) -> None:
    twin_ids = [s.id for s in env.sim.fleet if s.name == "twin"]
    resolution = await env.workflow.inventory.resolve(T, twin_ids)
    assert sorted(s.id for s in resolution.servers) == sorted(twin_ids)
    assert not resolution.ambiguous
    assert not resolution.unknown


async def test_tag_filter_by_pair_and_by_key(env: Env) -> None:
    inventory = env.workflow.inventory
    assert [s.name for s in await inventory.with_tag(T, "env=dev")] == ["locked-01", "noplug-01"]
    assert [s.name for s in await inventory.with_tag(T, " team ")] == [
        "web-01",
        "web-02",
        "web-03",
        "web-04",
        "win-01",
    ]
    assert await inventory.with_tag(T, "team=nobody") == []


async def test_unknown_target_and_cloud_failure_are_sentences(env: Env) -> None:
    with pytest.raises(InventoryUnavailable, match="Unknown target nowhere"):
        await env.workflow.inventory.search("nowhere", "x")
    env.sim.add_fault("server_error", "/cloudservers/detail", times=None)
    with pytest.raises(InventoryUnavailable, match=f"Could not list the servers of {T}"):
        await env.workflow.inventory.search(T, "web")


async def test_slow_first_load_answers_in_time_and_finishes_later(env: Env) -> None:
    env.sim.latency_s = 0.5
    inventory = env.workflow.inventory
    with pytest.raises(InventoryUnavailable, match="still loading"):
        await inventory.search(T, "web", max_wait_s=0.05)
    # The load was not cancelled by the impatient caller: the next one gets it.
    assert len(await inventory.search(T, "web", max_wait_s=5)) == 4
    assert _list_calls(env) == 1


async def test_search_rendered_renders_each_server_once_per_list(env: Env) -> None:
    """The typeahead's options: the same servers and order as search, each rendered once per list;
    a refreshed list renders afresh (its servers may have changed)."""
    inventory = env.workflow.inventory
    rendered: list[str] = []

    def render(server: ServerChoice) -> dict[str, str]:
        rendered.append(server.name)
        return {"name": server.name}

    first = await inventory.search_rendered(T, "web", render)
    assert [o["name"] for o in first] == [s.name for s in await inventory.search(T, "web")]
    again = await inventory.search_rendered(T, "web-0", render)
    assert [id(o) for o in again] == [id(o) for o in first], "a warm answer reuses the rendered objects"
    assert sorted(rendered) == ["web-01", "web-02", "web-03", "web-04"]
    env.sim.fleet.add("web-05", addresses=["10.0.1.5"])
    await inventory.refresh(T)
    after = await inventory.search_rendered(T, "web", render)
    assert [o["name"] for o in after] == ["web-01", "web-02", "web-03", "web-04", "web-05"]
    assert len(rendered) == 4 + 5
