"""The delivered password appears only in the delivery: not in logs, audit, messages or the database."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from bot.domain import PasswordMode, RebootMode
from bot.workflow import SealedPasswords

from .conftest import REQUESTER, Env


async def _everything_said(env: Env, request_id: int) -> str:
    """Every text the workflow produced for people and for the record, except the delivery itself."""
    parts: list[str] = []
    for audit in await env.store.audit(limit=1000):
        parts.append(json.dumps(dataclasses.asdict(audit), default=str))
    for request in await env.store.list_requests(limit=100):
        parts.append(repr(request))
        parts.append(request.outcome_message or "")
    for server in await env.store.servers(request_id):
        parts.append(repr(server))
    for notice in env.notifier.notices:
        parts.append(repr(notice.view))
        if notice.event is not None:
            parts.append(repr(notice.event))
        parts.append(repr(notice.secrets))
    parts.extend(repr(call) for call in env.sim.calls)
    return "\n".join(parts)


@pytest.mark.parametrize("mode", [PasswordMode.SHARED, PasswordMode.PER_SERVER])
async def test_password_leaks_nowhere(env: Env, caplog: pytest.LogCaptureFixture, mode: PasswordMode) -> None:
    caplog.set_level(logging.DEBUG)
    locked = env.sim.fleet.get(env.sid("web-02"))
    assert locked is not None
    locked.locked = True  # a failure on the way, so error paths are in the logs too
    request = await env.run_to_end(["web-01", "web-02", "win-01"], password_mode=mode, reboot=RebootMode.SOFT)
    delivery = env.notifier.delivered(request.id)
    passwords = {s.password for s in delivery.secrets}
    assert passwords
    assert all(len(p) >= 8 for p in passwords)
    # The cloud really took them: these are the real secrets, not placeholders.
    for secret in delivery.secrets:
        for name in secret.servers:
            assert env.sim.fleet.password_matches(env.sid(name), secret.password)

    assert delivery.reveal_token is not None
    result, revealed = await env.reveal(delivery.reveal_token, REQUESTER)
    assert {s.password for s in revealed} == passwords
    assert all(p not in repr(result) for p in passwords)
    await env.settle()

    said = await _everything_said(env, request.id)
    logs = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    assert caplog.records, "DEBUG logging was captured"
    database = env.db.file_bytes()
    for password in passwords:
        assert password not in said
        assert password not in logs
        assert password.encode() not in database
        assert json.dumps(password) not in said
        assert password not in repr(SealedPasswords(shared=password, per_server={"id": password}))
