"""What the workflow's facade takes and gives back: submissions, their errors, and click results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.config import Target
from bot.domain import NewServer, PasswordMode, RebootMode, RequestRecord


class Field(StrEnum):
    """The parts of a submission an error can point at; front ends map them to their own inputs."""

    TARGET = "target"
    SERVERS = "servers"
    REASON = "reason"
    PASSWORD_MODE = "password_mode"
    REBOOT = "reboot"


@dataclass(frozen=True)
class Submission:
    target: str
    requester_id: str
    server_refs: Sequence[str]
    reason: str
    password_mode: PasswordMode = PasswordMode.SHARED
    reboot: RebootMode = RebootMode.NONE
    tag: str | None = None
    submission_key: str | None = None
    """The front end's id of the form this came from (unique per form shown): a replay of the same
    submission returns the request it already made instead of making a second one."""
    break_glass: bool = False
    """Run without approval right after pre-flight (an emergency), for people the target's
    `break_glass.allowed` lists; checked again, on fresh facts, whatever the front end showed."""


@dataclass(frozen=True)
class SubmitResult:
    request: RequestRecord | None
    errors: dict[Field, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedSubmission:
    """A submission that passed every check, with its servers resolved: what `record` writes."""

    submission: Submission
    target: Target
    reason: str
    servers: list[NewServer]


@dataclass(frozen=True)
class ActionResult:
    """The answer to one person's click: whether it took effect and a sentence to show them."""

    ok: bool
    message: str
    request: RequestRecord | None = None
