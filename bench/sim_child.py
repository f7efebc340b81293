"""The simulator in its own process, for benchmarks that keep its CPU time out of the client's.

Prints its URL on the first line and, on the second, the URL of a bare aiohttp app (`PUT /bare` parses
the JSON body, sleeps the same latency and answers `{"response": <the body's servers>}`: the same-run
baseline of what plain aiohttp achieves on this machine), then answers commands read on stdin, one per line:
  stats   -> a JSON line {"max_in_flight": .., "calls": .., "puts": .., "resets": .., "first_reset_at": ..,
             "last_reset_at": ..} (reset calls: PUTs to an os-reset-password(s) path; times from time.time())
  reset   -> forgets recorded calls and the in-flight maximum; answers "ok"
  latency <seconds> -> sets the latency; answers "ok"
EOF on stdin stops it.

    python bench/sim_child.py --servers 10000 --seed 1 --latency-ms 50 [--all-resettable] [--tag k=v]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from bot.simulator import Fleet, Simulator

#: In the path of the batch and the single-server reset calls.
RESET_PATH = "os-reset-password"


def bare_app(sim: Simulator) -> web.Application:
    """PUT /bare: parse the JSON body, sleep the simulator's latency, answer `{"response": <its servers>}`
    (what the batch reset answers on success, so a baseline call moves the same JSON both ways)."""

    async def bare(request: web.Request) -> web.Response:
        data = json.loads(await request.read())
        if sim.latency_s > 0:
            await asyncio.sleep(sim.latency_s)
        return web.json_response({"response": data.get("servers", [])})

    app = web.Application()
    app.router.add_put("/bare", bare)
    # The batch reset path too, so `EcsClient` itself can be pointed at this handler: the client's cost
    # measured against a server as cheap as the baseline's (no signature check, no simulated state).
    app.router.add_put("/v1/{project_id}/cloudservers/os-reset-passwords", bare)
    return app


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--all-resettable", action="store_true")
    parser.add_argument("--tag", default=None, help="a tag added to every server (key=value)")
    args = parser.parse_args()
    if args.all_resettable:
        fleet = Fleet.generate(args.servers, seed=args.seed, locked_share=0.0, no_plugin_share=0.0)
    else:
        fleet = Fleet.generate(args.servers, seed=args.seed)
    if args.tag:
        for server in fleet:
            server.tags.append(args.tag)
    sim = Simulator(fleet, latency_s=args.latency_ms / 1000)
    url = await sim.start()
    runner = web.AppRunner(bare_app(sim), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(url, flush=True)
    print(f"http://127.0.0.1:{runner.addresses[0][1]}/bare", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            word, _, arg = line.strip().partition(" ")
            if word == "stats":
                puts = sum(1 for c in sim.calls if c.method == "PUT")
                resets = [c.started_at for c in sim.calls if c.method == "PUT" and RESET_PATH in c.path]
                answer = {
                    "max_in_flight": sim.max_in_flight,
                    "calls": len(sim.calls),
                    "puts": puts,
                    "resets": len(resets),
                    "first_reset_at": min(resets, default=None),
                    "last_reset_at": max(resets, default=None),
                }
                print(json.dumps(answer), flush=True)
            elif word == "reset":
                sim.reset_stats()
                print("ok", flush=True)
            elif word == "latency":
                sim.latency_s = float(arg)
                print("ok", flush=True)
            else:
                print(json.dumps({"error": f"unknown command {word!r}"}), flush=True)
    finally:
        await runner.cleanup()
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
