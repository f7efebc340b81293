"""A bare Bolt AsyncApp that only acks, alone in its process: the baseline of bench/ack_latency.py.

Prints its URL (…/slack/events) on the first line; stops on EOF on stdin.

    python bench/bare_child.py --slack-api-url URL [--pbr]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bare_bolt_app, serve

from bot.demo import SIGNING_SECRET
from bot.simulator.slack import FAKE_BOT_TOKEN


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slack-api-url", required=True)
    parser.add_argument("--pbr", action="store_true", help="process_before_response=True")
    args = parser.parse_args()
    app = bare_bolt_app(
        SIGNING_SECRET,
        process_before_response=args.pbr,
        slack_api_url=args.slack_api_url,
        token=FAKE_BOT_TOKEN,
    )
    served = await serve(app.web_app(path="/slack/events"))
    print(served.url + "/slack/events", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while await loop.run_in_executor(None, sys.stdin.readline):
            pass
    finally:
        await served.close()


if __name__ == "__main__":
    asyncio.run(main())
