"""Reboots and the asynchronous jobs that carry them out, polled until they end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from bot.ecs.caller import Caller
from bot.ecs.errors import EcsJobTimeout, EcsProtocolError
from bot.ecs.models import Job
from bot.ecs.resets import BATCH_LIMIT


async def reboot(
    caller: Caller, server_ids: Sequence[str], *, hard: bool, secrets: Sequence[str]
) -> list[str]:
    """Start a reboot of the servers in chunks of 1000; the ids of the jobs, in chunk order."""
    ids = list(dict.fromkeys(server_ids))
    kind = "HARD" if hard else "SOFT"
    scrub = caller.scrubber(*secrets)

    async def chunk_reboot(chunk: list[str]) -> str:
        payload = {"reboot": {"type": kind, "servers": [{"id": i} for i in chunk]}}
        data = await caller.call("POST", "/cloudservers/action", payload=payload, scrub=scrub)
        job_id = data.get("job_id")
        if not isinstance(job_id, str) or not job_id:
            raise EcsProtocolError("the reboot answer has no job_id")
        return job_id

    chunks = [ids[i : i + BATCH_LIMIT] for i in range(0, len(ids), BATCH_LIMIT)]
    return list(await asyncio.gather(*(chunk_reboot(c) for c in chunks)))


async def get_job(caller: Caller, job_id: str, *, secrets: Sequence[str]) -> Job:
    scrub = caller.scrubber(*secrets)
    data = await caller.call("GET", f"/jobs/{job_id}", scrub=scrub)
    return Job.from_api({"job_id": job_id, **data}, scrub)


async def wait_job(
    caller: Caller, job_id: str, *, timeout_s: float, poll_interval_s: float, secrets: Sequence[str]
) -> Job:
    deadline = time.monotonic() + timeout_s
    while True:
        job = await get_job(caller, job_id, secrets=secrets)
        if job.status.is_final:
            return job
        if time.monotonic() + poll_interval_s > deadline:
            raise EcsJobTimeout(f"job {job_id} is still {job.status} after {timeout_s:g} s")
        await asyncio.sleep(poll_interval_s)
