"""Reboot jobs: the asynchronous part of the API, advanced by polling (or by time).

Their progress depends on polls or the injectable clock, never on wall-clock sleeps, so
tests that follow a job are deterministic.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.simulator.auth import Clock
from bot.simulator.fleet import Fleet


@dataclass
class RebootJob:
    """One batch reboot; results are decided when it finishes."""

    job_id: str
    reboot_type: str
    server_ids: list[str]
    created_at: float
    polls: int = 0
    result: dict[str, str | None] | None = None  # server id -> fail reason (None = success)
    finished_at: float | None = None
    sub_job_ids: list[str] = field(default_factory=list)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JobBook:
    """All jobs of the simulator; `polls_to_finish` / `duration_s` set how long they run."""

    def __init__(self, fleet: Fleet, clock: Clock, *, polls_to_finish: int, duration_s: float | None) -> None:
        self.fleet = fleet
        self.clock = clock
        self.polls_to_finish = polls_to_finish
        self.duration_s = duration_s
        self._jobs: dict[str, RebootJob] = {}

    def start_reboot(self, reboot_type: str, server_ids: list[str]) -> RebootJob:
        """Record a new job in INIT state."""
        job = RebootJob(
            job_id=_job_id(),
            reboot_type=reboot_type,
            server_ids=list(server_ids),
            created_at=self.clock(),
            sub_job_ids=[_job_id() for _ in server_ids],
        )
        self._jobs[job.job_id] = job
        return job

    def get(self, job_id: str) -> RebootJob | None:
        """The job with this id, or None."""
        return self._jobs.get(job_id)

    def poll(self, job: RebootJob) -> dict[str, Any]:
        """Count one poll, finish the job when due, and return its body as the API shows it."""
        job.polls += 1
        if job.result is None and self._due(job):
            self._finish(job)
        return self._body(job)

    def _due(self, job: RebootJob) -> bool:
        if self.duration_s is not None:
            return self.clock() - job.created_at >= self.duration_s
        return job.polls >= self.polls_to_finish

    def _finish(self, job: RebootJob) -> None:
        result: dict[str, str | None] = {}
        for server_id in job.server_ids:
            server = self.fleet.get(server_id)
            if server is None:
                result[server_id] = f"server {server_id} does not exist"
            elif server.locked:
                result[server_id] = f"server {server_id} is locked"
            elif server.status != "ACTIVE":
                result[server_id] = f"server {server_id} is {server.status}; only ACTIVE servers can reboot"
            else:
                result[server_id] = None
                server.password_pending_reboot = False
        job.result = result
        job.finished_at = self.clock()

    def _body(self, job: RebootJob) -> dict[str, Any]:
        if job.result is None:
            status = "INIT" if job.polls <= 1 else "RUNNING"
        else:
            status = "FAIL" if any(job.result.values()) else "SUCCESS"
        sub_jobs = []
        for sub_id, server_id in zip(job.sub_job_ids, job.server_ids, strict=True):
            reason = job.result.get(server_id) if job.result is not None else None
            sub_status = status if job.result is None else ("FAIL" if reason else "SUCCESS")
            sub_jobs.append(
                {
                    "job_id": sub_id,
                    "job_type": "rebootServer",
                    "status": sub_status,
                    "begin_time": _iso(job.created_at),
                    "end_time": _iso(job.finished_at),
                    "error_code": "Ecs.0100" if reason else None,
                    "fail_reason": reason,
                    "entities": {"server_id": server_id},
                }
            )
        failures = [reason for reason in (job.result or {}).values() if reason]
        return {
            "job_id": job.job_id,
            "job_type": "batchRebootServer",
            "status": status,
            "begin_time": _iso(job.created_at),
            "end_time": _iso(job.finished_at),
            "error_code": "Ecs.0100" if failures else None,
            "fail_reason": "; ".join(failures) if failures else None,
            "entities": {"sub_jobs_total": len(sub_jobs), "sub_jobs": sub_jobs},
        }


def _job_id() -> str:
    # Real job ids are 32 hex characters.
    return secrets.token_hex(16)
