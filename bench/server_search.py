"""The servers typeahead (block_suggestion) on a 10,000-server target: cold and warm cache, p50/p99.

  cold   a fresh bot whose server list is not loaded yet: the first options request waits for the listing
         (10 pages of 1000 from the simulator, 0 ms latency); measured over --cold-runs fresh bots
  warm   the list cached: queries "web-0", "web-12", "10.0.", "zzz" (no match), "" (first 100), one client
  bare   a bare Bolt options listener (process_before_response=True) acking a fixed list of 100 options
         of the same shape, same run
Target: warm p99 < 20 ms.

    .venv/bin/python bench/server_search.py [--quick|--full]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from common import (
    bare_bolt_app,
    bench_targets_file,
    header,
    p50_p99,
    parse_args,
    quiet_logs,
    serve,
    timed_posts,
    verdict,
    write_json,
)

from bot.demo import REQUESTER, SIGNING_SECRET, World
from bot.simulator import Fleet
from bot.simulator.slack import FAKE_BOT_TOKEN
from bot.slack import ids
from bot.slack.blocks.modals import server_option

QUERIES = ("web-0", "web-12", "10.0.", "zzz", "")
VIEW = {
    "callback_id": ids.REQUEST_MODAL,
    "private_metadata": "",
    "state": {
        "values": {
            ids.TARGET_BLOCK: {
                ids.TARGET_ACTION: {"type": "static_select", "selected_option": {"value": "bench"}}
            }
        }
    },
}


def extra(parser: Any) -> None:
    parser.add_argument("--servers", type=int, default=10000)


def suggestion(world: World, query: str) -> Any:
    return world.requests.block_suggestion(
        user_id=REQUESTER, action_id=ids.SERVERS_ACTION, value=query, view=VIEW, block_id=ids.SERVERS_BLOCK
    )


async def cold_once(fleet: Fleet) -> tuple[float, int]:
    """A fresh bot; the options request is sent at once, before the warm-up listing can finish."""
    world = await World.start(fleet=fleet, env={"BOT_CONFIG": str(bench_targets_file())})
    try:
        world.runtime.workflow.inventory._snapshots.clear()  # in case the warm-up already finished
        started = time.perf_counter()
        status, text = await world.send(suggestion(world, "web-0"))
        took = time.perf_counter() - started
        assert status == 200, text
        return took, text.count('"value"')
    finally:
        await world.close()


async def main() -> int:
    args = parse_args(__doc__.splitlines()[0], extra)
    quiet_logs()
    cold_runs = 3 if args.quick else 10 if args.full else 5
    warm_n = 100 if args.quick else 1000 if args.full else 300
    header(f"server_search: options on {args.servers} servers, cold x{cold_runs}, warm x{warm_n} per query")
    fleet = Fleet.generate(args.servers, seed=11)
    cold = []
    for _ in range(cold_runs):
        took, count = await cold_once(fleet)
        cold.append(took)
    p50, p99 = p50_p99(cold)
    print(
        f"cold (list not loaded)  p50 {p50 * 1000:7.2f} ms  p99 (max) {p99 * 1000:7.2f} ms  options {count}"
    )
    figures: dict[str, Any] = {"cold": {"p50_ms": p50 * 1000, "p99_ms": p99 * 1000}, "warm": {}}
    world = await World.start(fleet=fleet, env={"BOT_CONFIG": str(bench_targets_file())})
    fixed = [
        server_option(s.name, s.id, f"{s.addresses[0]}, {s.os_type}, {s.status}").to_dict()
        for s in list(fleet)[:100]
    ]
    bare = await serve(
        bare_bolt_app(
            SIGNING_SECRET,
            process_before_response=True,
            slack_api_url=world.slack.api_url,
            token=FAKE_BOT_TOKEN,
            options=fixed,
        ).web_app(path="/slack/events")
    )
    all_ok = True
    try:
        await world.runtime.workflow.inventory.refresh("bench")
        async with aiohttp.ClientSession() as session:
            for query in QUERIES:
                make = lambda q=query: suggestion(world, q)  # noqa: E731
                await timed_posts(session, world.bot_url + "/slack/events", make, clients=1, per_client=5)
                await timed_posts(session, bare.url + "/slack/events", make, clients=1, per_client=5)
                bot = p50_p99(
                    await timed_posts(
                        session, world.bot_url + "/slack/events", make, clients=1, per_client=warm_n
                    )
                )
                base = p50_p99(
                    await timed_posts(session, bare.url + "/slack/events", make, clients=1, per_client=warm_n)
                )
                ok = bot[1] < 0.020
                all_ok &= ok
                figures["warm"][query] = {
                    "bot_p50_ms": bot[0] * 1000,
                    "bot_p99_ms": bot[1] * 1000,
                    "bare_p50_ms": base[0] * 1000,
                    "bare_p99_ms": base[1] * 1000,
                }
                print(
                    f"warm {query!r:<9} bot p50 {bot[0] * 1000:6.2f} p99 {bot[1] * 1000:6.2f} ms | bare "
                    f"p50 {base[0] * 1000:6.2f} p99 {base[1] * 1000:6.2f} ms | p99 bot/bare "
                    f"{bot[1] / base[1]:4.2f} [{verdict(ok)}]",
                    flush=True,
                )
    finally:
        await bare.close()
        await world.close()
    print(f"warm target {verdict(all_ok)}")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
