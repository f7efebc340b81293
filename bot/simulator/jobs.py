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
    #: Sub-jobs finished so far (server id -> fail reason, None = success), in server order.
    done: dict[str, str | None] = field(default_factory=dict)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JobBook:
    """All jobs of the simulator; `polls_to_finish` / `duration_s` set how long they run.

    As seen in the field, and set by tests: `one_by_one` finishes one sub-job per poll (a job can be
    RUNNING with sub-jobs already failed); `failing` makes the sub-jobs of these servers fail with the
    given reason; `status_ignores_sub_jobs` reports a job SUCCESS even when some of its sub-jobs failed.
    """

    def __init__(self, fleet: Fleet, clock: Clock, *, polls_to_finish: int, duration_s: float | None) -> None:
        self.fleet = fleet
        self.clock = clock
        self.polls_to_finish = polls_to_finish
        self.duration_s = duration_s
        self.one_by_one = False
        self.failing: dict[str, str] = {}
        self.status_ignores_sub_jobs = False
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
        if job.result is None and self.one_by_one and job.polls > 1:
            server_id = job.server_ids[len(job.done)]
            job.done[server_id] = self._outcome(server_id)
            if len(job.done) == len(job.server_ids):
                job.result = dict(job.done)
                job.finished_at = self.clock()
        elif job.result is None and not self.one_by_one and self._due(job):
            self._finish(job)
        return self._body(job)

    def _due(self, job: RebootJob) -> bool:
        if self.duration_s is not None:
            return self.clock() - job.created_at >= self.duration_s
        return job.polls >= self.polls_to_finish

    def _finish(self, job: RebootJob) -> None:
        job.result = {server_id: self._outcome(server_id) for server_id in job.server_ids}
        job.done = dict(job.result)
        job.finished_at = self.clock()

    def _outcome(self, server_id: str) -> str | None:
        """Why this server's restart fails, or None when it restarts (its new password now in effect)."""
        server = self.fleet.get(server_id)
        if server is None:
            return f"server {server_id} does not exist"
        if server.locked:
            return f"server {server_id} is locked"
        if server.status != "ACTIVE":
            return f"server {server_id} is {server.status}; only ACTIVE servers can reboot"
        if server_id in self.failing:
            return self.failing[server_id]
        server.password_pending_reboot = False
        return None

    def _body(self, job: RebootJob) -> dict[str, Any]:
        if job.result is None:
            status = "INIT" if job.polls <= 1 else "RUNNING"
        else:
            failed = any(job.result.values()) and not self.status_ignores_sub_jobs
            status = "FAIL" if failed else "SUCCESS"
        sub_jobs = []
        for sub_id, server_id in zip(job.sub_job_ids, job.server_ids, strict=True):
            reason = job.done.get(server_id)
            if server_id not in job.done:
                sub_status = "INIT" if job.polls <= 1 else "RUNNING"
            else:
                sub_status = "FAIL" if reason else "SUCCESS"
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
        failures = [reason for reason in (job.result or {}).values() if reason] if status == "FAIL" else []
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
