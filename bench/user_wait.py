"""The waits a person feels that are the bot's own time (the fakes answer at once), p50/p99 over N runs.

  command -> modal     the slash command is sent -> fake Slack receives views.open
  approve -> cloud     the last Approve click is sent -> the simulator receives the first reset call
  cloud -> password    the simulator receives the last reset call (latency 0: it answers at once) ->
                       fake Slack receives the chat.postEphemeral carrying the password
Each run is one request of 3 servers (one password), simulator latency 0.
Three processes: the fakes (simulator + fake Slack, bench/fakes_child.py), the bot (`python -m bot run`,
SQLite) and this measuring client; the fakes stamp what they receive with time.time().
Target: each p99 < 50 ms.

    .venv/bin/python bench/user_wait.py [--quick|--full] [--servers 3]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from common import header, p50_p99, parse_args, verdict, write_json
from procs import remote_people, start_bot, start_fakes

from bot.demo import APPROVERS, REQUESTER, CallMatch, Refused
from bot.simulator import Fleet
from bot.slack import ids

RESET_PATH = "os-reset-password"
FLEET, SEED = 200, 9


def extra(parser: Any) -> None:
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--servers", type=int, default=3, help="servers per request")


async def main() -> int:
    args = parse_args(__doc__.splitlines()[0], extra)
    runs = args.runs or (10 if args.quick else 100 if args.full else 40)
    header(
        f"user_wait: bot time on the three waits, {runs} runs of {args.servers} server(s); bot in its own process"
    )
    names = [s.name for s in Fleet.generate(FLEET, seed=SEED, locked_share=0.0, no_plugin_share=0.0)]
    procs = start_fakes(FLEET, seed=SEED)
    waits: dict[str, list[float]] = {"command -> modal": [], "approve -> cloud": [], "cloud -> password": []}
    try:
        await start_bot(procs)
        async with aiohttp.ClientSession() as session:
            people, fakes = remote_people(procs, session)
            for run in range(runs):
                chosen = names[(run * args.servers) % 190 : (run * args.servers) % 190 + args.servers]
                command = await people.command(REQUESTER)
                since = await fakes.call_count()
                sent = time.time()
                status, _ = await people.send(command)
                assert status == 200
                opened = await fakes.wait_for(CallMatch("views.open"), since=since)
                waits["command -> modal"].append(opened.ts - sent)
                view = await fakes.open_view(REQUESTER, ids.REQUEST_MODAL)
                assert view is not None, opened
                status, answer = await people.submit(
                    REQUESTER, view, target="bench", servers=chosen, reason="BENCH-2"
                )
                if status != 200 or answer.strip():
                    raise Refused(f"submission refused ({status}): {answer[:300]}")
                card = await people.card(run + 1, timeout=30, approvable=True)
                await asyncio.sleep(0.2)  # let the bot settle (card edits, DMs) before the timed click
                await fakes.rpc("sim_reset")
                click = await people.click_request(APPROVERS[0], ids.APPROVE_ACTION, card)
                since = await fakes.call_count()
                clicked = time.time()
                status, _ = await people.send(click)
                assert status == 200
                delivered = await fakes.wait_for(
                    CallMatch("chat.postEphemeral", text="New password"), since=since
                )
                puts = (await fakes.rpc("sim_calls", method="PUT", path_contains=RESET_PATH))["started"]
                waits["approve -> cloud"].append(min(puts) - clicked)
                waits["cloud -> password"].append(delivered.ts - max(puts))
                await asyncio.sleep(0.1)
    finally:
        await procs.stop()
    figures = {}
    all_ok = True
    for name, values in waits.items():
        p50, p99 = p50_p99(values)
        ok = p99 < 0.050
        all_ok &= ok
        figures[name] = {"p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "runs": len(values)}
        print(f"{name:<18} p50 {p50 * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms  [{verdict(ok)}]", flush=True)
    print(f"all targets {verdict(all_ok)}")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
