"""One result per server of a reset call, stating only what the cloud's answer tells: reset, refused with the
cloud's own code and sentence, or unknown where the call may have reached the cloud.
"""

from __future__ import annotations

from bot.ecs.caller import json_object
from bot.ecs.error_answers import parse_internal_errors, sentence_for
from bot.ecs.errors import EcsError
from bot.ecs.models import ResetOutcome, ServerResetResult
from bot.ecs.scrub import Scrubber
from bot.ecs.transport import Answer

UNNAMED_IN_PARTIAL_FAILURE = (
    "the cloud reported a partial failure of the batch without naming this server: "
    "it may or may not have been reset"
)
NOT_MENTIONED = (
    "the cloud accepted the call but did not mention this server: it may or may not have been reset"
)


def batch_results(ids: list[str], answer: Answer, scrub: Scrubber) -> list[ServerResetResult]:
    """Per-server results of a 2xx batch answer: `response` ids succeeded, `internalError` ids failed,
    any other id is unknown (the cloud took the call and said nothing of it)."""
    data = json_object(answer, None, scrub)
    raw = data.get("response")
    entries = raw if isinstance(raw, list) else []
    succeeded = {r["id"] for r in entries if isinstance(r, dict) and "id" in r}
    failed = {e.server_id: e for e in parse_internal_errors(data.get("internalError"), scrub)}
    request_id = scrub.text(answer.request_id)
    results = []
    for server_id in ids:
        if server_id in failed:
            err = failed[server_id]
            outcome, code, message = ResetOutcome.FAILED, err.code, sentence_for(err.code, err.message)
        elif server_id in succeeded:
            outcome, code, message = ResetOutcome.SUCCEEDED, None, None
        else:
            outcome, code, message = ResetOutcome.UNKNOWN, None, NOT_MENTIONED
        results.append(ServerResetResult(server_id, outcome, code, message, request_id))
    return results


def failed(ids: list[str], error: EcsError) -> list[ServerResetResult]:
    """Every server of a call that raised: its own `internalError` entry if any; a server the answer of
    a partial failure does not name is unknown (the cloud may have reset it); else the call's error."""
    own = {e.server_id: e for e in error.internal_errors}
    partial = bool(own) or error.code == "Ecs.0611"
    outcome = ResetOutcome.UNKNOWN if error.may_have_taken_effect else ResetOutcome.FAILED
    results = []
    for server_id in ids:
        if server_id in own:
            err = own[server_id]
            result = ServerResetResult(
                server_id,
                ResetOutcome.FAILED,
                err.code,
                sentence_for(err.code, err.message),
                error.request_id,
            )
        elif partial:
            result = ServerResetResult(
                server_id, ResetOutcome.UNKNOWN, error.code, UNNAMED_IN_PARTIAL_FAILURE, error.request_id
            )
        else:
            result = ServerResetResult(server_id, outcome, error.code, error.message, error.request_id)
        results.append(result)
    return results


def not_sent(ids: list[str]) -> list[ServerResetResult]:
    """Every server of a call that did not go because announcing it failed."""
    return [
        ServerResetResult(
            server_id=i,
            outcome=ResetOutcome.FAILED,
            error_message="not sent: recording the call beforehand failed",
        )
        for i in ids
    ]
