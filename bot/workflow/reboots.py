"""What the restart after a reset says of each server, read from the cloud's reboot jobs."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import ServerRecord
from bot.ecs import BATCH_LIMIT, Job, JobStatus
from bot.workflow import sentences as say


def reboot_sentence(kind: str, servers: Sequence[ServerRecord], jobs: Sequence[Job]) -> str:
    """What the reboot jobs say of each server: restarted only if its own sub-job succeeded (a job
    whose status is SUCCESS may hold failed sub-jobs); a job without sub-jobs speaks for all its servers
    (the jobs are in the order of the chunks of `BATCH_LIMIT` servers the reboot was sent in)."""
    restarted: list[str] = []
    failed: list[tuple[str, str | None]] = []
    unconfirmed: list[str] = []
    for index, server in enumerate(servers):
        job = jobs[min(index // BATCH_LIMIT, len(jobs) - 1)] if jobs else None
        sub = next((j for j in job.sub_jobs if j.server_id == server.server_id), None) if job else None
        if job is not None and sub is None and not job.sub_jobs:
            status, reason = job.status, job.fail_reason
        elif sub is not None:
            status, reason = sub.status, sub.fail_reason or (job.fail_reason if job else None)
        else:
            unconfirmed.append(server.name)
            continue
        if status == JobStatus.SUCCESS:
            restarted.append(server.name)
        else:
            failed.append((server.name, reason))
    return say.restarted(kind, restarted, failed, unconfirmed)
