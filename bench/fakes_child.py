"""The fakes in their own process: the ECS simulator and the fake Slack, driven over a small JSON RPC.

The benchmarks that measure the bot over HTTP run three kinds of process: this one (the fakes), the app
under test (`python -m bot run`, or a bare Bolt app: bench/bare_child.py) and the measuring client. So
the bot's background work, the fakes' work and the load generator never share an event loop.

Prints one JSON line {"sim_url", "slack_api_url", "rpc_url", "team_id", "app_id"}; stops on EOF on stdin.
RPC: POST {rpc_url} with {"op": ..., ...}; answers JSON (see `make_ops` below); bench/procs.py's
`RemoteFakes` is its client, the Slack side `bot.demo.People` plays the people's moves with.

    python bench/fakes_child.py --servers 1000 --seed 5 [--tag bench=all [--untagged 3]] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from bot.demo import APPROVERS_CHANNEL, CallMatch, demo_users, open_view_payload
from bot.simulator import Fleet, Simulator
from bot.simulator.slack import FakeSlack, SlackCall


def call_json(call: SlackCall) -> dict[str, Any]:
    return dataclasses.asdict(call)


def make_ops(sim: Simulator, slack: FakeSlack) -> dict[str, Any]:
    """The fake Slack's side as bench/procs.py's `RemoteFakes` reads it, and the simulator's knobs."""

    async def wait_for(a: dict[str, Any]) -> dict[str, Any]:
        """The first call from index `since` that the `match` (a `CallMatch` as JSON) matches."""
        match = CallMatch.from_json(a["match"])
        since, timeout = int(a.get("since", 0)), float(a.get("timeout", 30))
        return call_json(await slack.wait_for(match.method, match.matches, timeout, since=since))

    async def triggers(a: dict[str, Any]) -> dict[str, Any]:
        return {"triggers": [slack.new_trigger_id(a["user"]) for _ in range(int(a.get("n", 1)))]}

    async def response_urls(a: dict[str, Any]) -> dict[str, Any]:
        user, channel, ts = a["user"], a["channel"], a.get("message_ts")
        return {"urls": [slack.new_response_url(channel, user, ts) for _ in range(int(a.get("n", 1)))]}

    async def count(_: dict[str, Any]) -> dict[str, Any]:
        return {"count": slack.call_count}

    async def messages(a: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [dataclasses.asdict(m) for m in slack.messages(a["channel"])]}

    async def open_view(a: dict[str, Any]) -> dict[str, Any]:
        return {"view": open_view_payload(slack, a["user"], a["callback_id"])}

    async def home(a: dict[str, Any]) -> dict[str, Any]:
        view = slack.home(a["user"])
        return {"home": dataclasses.asdict(view) if view is not None else None}

    async def sim_reset(_: dict[str, Any]) -> dict[str, Any]:
        sim.reset_stats()
        return {}

    async def sim_latency(a: dict[str, Any]) -> dict[str, Any]:
        sim.latency_s = float(a["seconds"])
        return {}

    async def sim_calls(a: dict[str, Any]) -> dict[str, Any]:
        path = a.get("path_contains", "")
        calls = [c for c in sim.calls if (a.get("method") in (None, c.method)) and path in c.path]
        return {
            "started": [c.started_at for c in calls],
            "count": len(calls),
            "max_in_flight": sim.max_in_flight,
        }

    return {
        "wait_for": wait_for,
        "triggers": triggers,
        "response_urls": response_urls,
        "count": count,
        "messages": messages,
        "open_view": open_view,
        "home": home,
        "sim_reset": sim_reset,
        "sim_latency": sim_latency,
        "sim_calls": sim_calls,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--tag", default=None, help="a tag every server carries (but the --untagged first)")
    parser.add_argument("--untagged", type=int, default=0, help="how many first servers lack --tag")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    fleet = Fleet.generate(args.servers, seed=args.seed, locked_share=0.0, no_plugin_share=0.0)
    if args.tag:
        for server in list(fleet)[args.untagged :]:
            server.tags.append(args.tag)
    sim = Simulator(fleet, latency_s=args.latency_ms / 1000)
    await sim.start()
    slack = FakeSlack(
        users=demo_users(incident_commander=False), channels={APPROVERS_CHANNEL: "ecs-approvals"}
    )
    await slack.start()
    ops = make_ops(sim, slack)

    async def rpc(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            return web.json_response(await ops[body["op"]](body), dumps=lambda o: json.dumps(o, default=str))
        except TimeoutError as exc:
            return web.json_response({"error": str(exc)}, status=504)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/rpc", rpc)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    print(
        json.dumps(
            {
                "sim_url": sim.url,
                "slack_api_url": slack.api_url,
                "rpc_url": f"http://127.0.0.1:{port}/rpc",
                "team_id": slack.team_id,
                "app_id": slack.app_id,
            }
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    try:
        while await loop.run_in_executor(None, sys.stdin.readline):
            pass
    finally:
        await runner.cleanup()
        await slack.stop()
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
