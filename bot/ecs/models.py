"""Typed views of the ECS answers the bot uses, so the rest of the bot never reads raw cloud JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from bot.ecs.scrub import NOTHING, Scrubber

OsType = Literal["Linux", "Windows"]


class Server(BaseModel):
    """One ECS as listed by the cloud, reduced to what a reset decision needs."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    status: str
    os_type: OsType | None = None
    locked: bool = False
    addresses: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Server:
        """Build from a `servers[]` / `server` object, tolerating missing optional fields."""
        metadata = raw.get("metadata") or {}
        os_type = metadata.get("os_type") if isinstance(metadata, dict) else None
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or ""),
            status=str(raw.get("status") or "UNKNOWN"),
            os_type=os_type if os_type in ("Linux", "Windows") else None,
            locked=raw.get("locked") is True,
            addresses=_addresses(raw.get("addresses")),
            tags=_tags(raw.get("tags")),
        )


def _addresses(raw: object) -> list[str]:
    """Every IP of every network, in the order the cloud lists them."""
    found: list[str] = []
    if isinstance(raw, dict):
        for entries in raw.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("addr"), str):
                    found.append(entry["addr"])
    return found


def _tags(raw: object) -> list[str]:
    """Tags as `key=value` strings; the API sends strings, some versions send {key, value} objects."""
    found: list[str] = []
    for tag in raw if isinstance(raw, list) else []:
        if isinstance(tag, str):
            found.append(tag)
        elif isinstance(tag, dict) and "key" in tag:
            value = tag.get("value")
            found.append(f"{tag['key']}={value}" if value not in (None, "") else str(tag["key"]))
    return found


class ResetOutcome(StrEnum):
    """What we know about one server's reset: `unknown` when the call may have reached the cloud."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class ServerResetResult(NamedTuple):
    """The outcome of a reset for one server; never holds the password.

    A named tuple, not a pydantic model: the client builds one per server from values it has already
    checked, 1,000 per batch call, and validation was most of the client's CPU per call
    (bench/ecs_batch_reset.py, BENCHMARKS.md section 1).
    """

    server_id: str
    outcome: ResetOutcome
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    #: False for a dry run that nothing could check (single-server fallback has no dry run).
    checked: bool = True


class JobStatus(StrEnum):
    """States of an asynchronous ECS job; SUCCESS and FAIL are final."""

    INIT = "INIT"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.FAIL)


class SubJob(BaseModel):
    """The part of a batch job that concerns one server."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: JobStatus
    server_id: str | None = None
    fail_reason: str | None = None


class Job(BaseModel):
    """An asynchronous ECS job (e.g. a batch reboot) and its per-server sub-jobs."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: JobStatus
    fail_reason: str | None = None
    error_code: str | None = None
    sub_jobs: list[SubJob] = Field(default_factory=list)

    @classmethod
    def from_api(cls, raw: dict[str, Any], scrub: Scrubber = NOTHING) -> Job:
        """Build from `GET /jobs/{id}`; statuses outside the documented four count as RUNNING.

        The cloud's texts (failure reasons, error code) pass `scrub`, the secrets of the call.
        """
        entities = raw.get("entities") if isinstance(raw.get("entities"), dict) else {}
        subs = entities.get("sub_jobs") if isinstance(entities, dict) else None
        return cls(
            job_id=str(raw.get("job_id") or ""),
            status=_status(raw.get("status")),
            fail_reason=_text(raw.get("fail_reason"), scrub),
            error_code=_text(raw.get("error_code"), scrub),
            sub_jobs=[_sub_job(s, scrub) for s in subs if isinstance(s, dict)]
            if isinstance(subs, list)
            else [],
        )


def _text(raw: object, scrub: Scrubber) -> str | None:
    """A text field of the cloud's, scrubbed; absent or empty is None, anything else is shown as JSON."""
    if raw is None or raw == "":
        return None
    return scrub(raw if isinstance(raw, str) else json.dumps(raw, default=str))


def _status(raw: object) -> JobStatus:
    try:
        return JobStatus(str(raw))
    except ValueError:
        return JobStatus.RUNNING


def _sub_job(raw: dict[str, Any], scrub: Scrubber) -> SubJob:
    entities = raw.get("entities") if isinstance(raw.get("entities"), dict) else {}
    server_id = entities.get("server_id") if isinstance(entities, dict) else None
    return SubJob(
        job_id=str(raw.get("job_id") or ""),
        status=_status(raw.get("status")),
        server_id=server_id if isinstance(server_id, str) else None,
        fail_reason=_text(raw.get("fail_reason"), scrub),
    )
