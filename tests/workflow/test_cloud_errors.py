"""Every way the cloud can fail the real reset call ends the request honestly, with a sentence per server.

Faults are injected on the simulator after pre-flight passed, on the reset call only, for good
(`times=None`), so the client's retries run out: the request must still reach a final state, name
what went wrong for each server, never claim a success, and tell the requester.
"""

from __future__ import annotations

from typing import get_args

import pytest

from bot.domain import Decision, RequestStatus, ServerPhase
from bot.simulator import FaultKind
from bot.simulator.faults import BEHAVIOURS

from .conftest import Env

NAMES = ["web-01", "web-02"]

# fault -> (phase each server ends in, words its sentence must contain)
FAULTS: dict[FaultKind, tuple[ServerPhase, str]] = {
    "throttle": (ServerPhase.FAILED, "APIGW.0308"),
    "flow_control": (ServerPhase.FAILED, "Common.1503"),
    "flow_limit_202": (ServerPhase.FAILED, "Common.0024"),
    "busy": (ServerPhase.FAILED, "Ecs.0603"),
    "app_auth": (ServerPhase.FAILED, "APIGW.0303"),
    "server_error": (ServerPhase.UNKNOWN, "Common.0001"),
    # A load balancer's bare 503: it cannot say whether the call got past it, so the outcome is unknown.
    "unavailable": (ServerPhase.UNKNOWN, "the cloud was unavailable (HTTP 503 Service Unavailable)"),
    # The gateway's 504 after holding the call: it was passed on, so it may have run.
    "timeout": (ServerPhase.UNKNOWN, "APIGW.0201"),
    "malformed_json": (ServerPhase.UNKNOWN, ""),
    "reset": (ServerPhase.UNKNOWN, ""),
    "disconnect": (ServerPhase.UNKNOWN, ""),
}


def test_every_kind_that_answers_is_in_the_table() -> None:
    assert sorted(FAULTS) == sorted(set(get_args(FaultKind)) - BEHAVIOURS)


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_failing_reset_call_ends_the_request_with_a_sentence_per_server(
    env: Env, kind: FaultKind
) -> None:
    request = await env.submit_ready(NAMES)
    # hold_s: the gateway's timeout comes well before the client's own (5 s).
    env.sim.add_fault(kind, r"os-reset-passwords", method="PUT", times=None, hold_s=0.05)
    assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()

    final = await env.store.get_request(request.id)
    assert final is not None
    servers = await env.store.servers(request.id)
    phase, code = FAULTS[kind]
    assert {s.phase for s in servers} == {phase}, [(s.name, s.phase, s.error_message) for s in servers]
    for server in servers:
        assert server.error_message, server.name
        assert len(server.error_message.split()) >= 4, server.error_message  # a sentence, not a code
        assert code in f"{server.error_code} {server.error_message}"
    assert final.outcome_message is not None
    assert final.outcome_message.startswith(f"0 of {len(NAMES)} server(s) reset.")
    if phase == ServerPhase.UNKNOWN:
        # The cloud may have applied it: the requester gets the password, marked as uncertain.
        assert final.status == RequestStatus.PARTLY_FAILED
        secrets = env.notifier.delivered(request.id).secrets
        assert secrets
        assert not any(s.applied for s in secrets)
    else:
        assert final.status == RequestStatus.FAILED
        assert env.notifier.of(request.id, "deliver_secret") == []
    assert env.notifier.events(request.id)[-1] == "finished"


async def test_server_deleted_after_preflight_is_named_as_gone(env: Env) -> None:
    request = await env.submit_ready(NAMES)
    gone = env.sid("web-02")
    env.sim.fleet._by_id.pop(gone)
    assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.PARTLY_FAILED
    by_name = {s.name: s for s in await env.store.servers(request.id)}
    assert by_name["web-01"].phase == ServerPhase.SUCCEEDED
    assert by_name["web-02"].phase == ServerPhase.FAILED
    assert by_name["web-02"].error_code == "Ecs.0114"
    assert "exist" in (by_name["web-02"].error_message or "")
