"""Listing (pagination, filters), one server, the reset plug-in flag."""

from __future__ import annotations

from sim_http import Api

from bot.simulator import Fleet


async def test_pages_cover_the_fleet_once_in_order(api: Api) -> None:
    seen: list[str] = []
    page = 1
    while True:
        answer = await api.call(
            "GET", api.ecs("/cloudservers/detail"), params={"offset": str(page), "limit": "15"}
        )
        assert answer.status == 200
        assert answer.body["count"] == 40
        if not answer.body["servers"]:
            break
        seen += [s["name"] for s in answer.body["servers"]]
        page += 1
    assert seen == [f"web-{i:04d}" for i in range(1, 41)]
    assert page == 4


async def test_server_shape(api: Api) -> None:
    server = api.sim.fleet.add(
        "win-db", os_type="Windows", locked=True, tags=["env=prod"], addresses=["10.9.9.9"]
    )
    answer = await api.call("GET", api.ecs("/cloudservers/detail"), params={"name": "win-db"})
    [shown] = answer.body["servers"]
    assert shown["id"] == server.id
    assert shown["status"] == "ACTIVE"
    assert shown["metadata"]["os_type"] == "Windows"
    assert shown["locked"] is True
    assert shown["tags"] == ["env=prod"]
    [[address]] = shown["addresses"].values()
    assert address == {
        "addr": "10.9.9.9",
        "version": 4,
        "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": "",
    }


async def test_filters(api: Api) -> None:
    fleet = api.sim.fleet
    fleet.add("DB-Primary", status="SHUTOFF", tags=["env=prod", "team=dba"], addresses=["192.168.7.10"])
    fleet.add("db-replica", tags=["env=staging", "team=dba"], addresses=["192.168.7.11"])

    async def names(**params: str) -> list[str]:
        answer = await api.call("GET", api.ecs("/cloudservers/detail"), params={"limit": "1000", **params})
        assert answer.body["count"] == len(answer.body["servers"])
        return [s["name"] for s in answer.body["servers"]]

    assert await names(name="db-") == ["DB-Primary", "db-replica"]
    assert await names(status="SHUTOFF") == ["DB-Primary"]
    assert await names(tags="team=dba,env=staging") == ["db-replica"]
    assert await names(ip="192.168.7.") == ["DB-Primary", "db-replica"]
    assert await names(name="web-000", status="ACTIVE") == [f"web-000{i}" for i in range(1, 10)]


async def test_bad_paging_parameters(api: Api) -> None:
    for params in ({"limit": "1001"}, {"limit": "0"}, {"offset": "-1"}, {"offset": "x"}):
        answer = await api.call("GET", api.ecs("/cloudservers/detail"), params=params)
        assert (answer.status, answer.body["error"]["code"]) == (400, "Ecs.0005"), params


async def test_show_server_and_unknown_server(api: Api) -> None:
    server = next(iter(api.sim.fleet))
    answer = await api.call("GET", api.ecs(f"/cloudservers/{server.id}"))
    assert answer.body["server"]["name"] == server.name
    missing = await api.call("GET", api.ecs("/cloudservers/00000000-0000-4000-8000-000000000000"))
    assert (missing.status, missing.body["error"]["code"]) == (404, "Ecs.0114")


async def test_reset_flag_is_a_string(api: Api) -> None:
    with_plugin = api.sim.fleet.add("a")
    without = api.sim.fleet.add("b", plugin_installed=False)
    assert (await api.call("GET", api.ecs(f"/cloudservers/{with_plugin.id}/os-resetpwd-flag"))).body == {
        "resetpwd_flag": "True"
    }
    assert (await api.call("GET", api.ecs(f"/cloudservers/{without.id}/os-resetpwd-flag"))).body == {
        "resetpwd_flag": "False"
    }
    assert (await api.call("GET", api.ecs("/cloudservers/nope/os-resetpwd-flag"))).status == 404


def test_generate_is_deterministic_and_honours_shares() -> None:
    one = Fleet.generate(
        2000, seed=3, windows_share=0.3, stopped_share=0.1, no_plugin_share=0.2, locked_share=0.05
    )
    two = Fleet.generate(
        2000, seed=3, windows_share=0.3, stopped_share=0.1, no_plugin_share=0.2, locked_share=0.05
    )
    assert [(s.id, s.name, s.os_type, s.status, s.locked, s.tags) for s in one] == [
        (s.id, s.name, s.os_type, s.status, s.locked, s.tags) for s in two
    ]
    servers = list(one)
    assert servers[0].name == "web-0001"
    assert 0.25 < sum(s.os_type == "Windows" for s in servers) / 2000 < 0.35
    assert 0.07 < sum(s.status == "SHUTOFF" for s in servers) / 2000 < 0.13
    assert 0.16 < sum(not s.plugin_installed for s in servers) / 2000 < 0.24
    assert 0.03 < sum(s.locked for s in servers) / 2000 < 0.07
    assert len({s.addresses[0] for s in servers}) == 2000
    assert one.by_name("web-0042") is one.get(servers[41].id)
    assert Fleet.generate(5, seed=4).by_name("web-0001").id != servers[0].id  # type: ignore[union-attr]


def test_password_is_kept_only_as_a_salted_hash() -> None:
    fleet = Fleet()
    a, b = fleet.add("a"), fleet.add("b")
    assert not fleet.password_matches(a.id, "Anything-1")
    fleet.set_password(a.id, "Same-Passw0rd")
    fleet.set_password(b.id, "Same-Passw0rd")
    assert fleet.password_matches(a.id, "Same-Passw0rd")
    assert not fleet.password_matches(a.id, "Same-Passw0rd!")
    assert a.password_hash != b.password_hash  # per-server salt
    assert "Same-Passw0rd" not in repr(a)
    assert b"Same-Passw0rd" not in a.password_hash
    assert not fleet.password_matches("unknown", "Same-Passw0rd")
