"""Canary: the passwords the bot delivers appear in exactly two places, the ephemeral and the reveal modal.

After real flows through a bot subprocess at DEBUG, every other place is searched for every delivered
password (raw, JSON-, repr- and URL-escaped): the bot's log file (which also holds any exception text),
the database (SQLite file bytes, or a pg_dump / every column of every table as text), every other call
the fake Slack recorded (messages, updates, button values, private_metadata, modals), its stored
messages and views, and the simulator's records. Cloud and Slack credentials must not be logged either.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.harness import (
    APPROVERS,
    CLOUD_SECRETS,
    REQUESTER,
    SIGNING_SECRET,
    Stack,
    make_stack,
)
from support.pg import PG_URL, PgDatabase, asyncpg_dsn, create_pg_database, drop_pg_database
from support.shown import is_delivery, passwords_in_blocks

from bot.simulator.slack import FAKE_BOT_TOKEN
from bot.slack import ids

pytestmark = pytest.mark.e2e


def variants(secret: str) -> set[str]:
    return {
        secret,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }


def find_leaks(haystack: str, secrets: list[str], where: str) -> list[str]:
    """Each hit, with 80 characters of context either side and the secret itself masked."""
    found = []
    for secret in secrets:
        for variant in variants(secret):
            at = haystack.find(variant)
            if at >= 0:
                context = haystack[max(0, at - 80) : at + len(variant) + 80].replace(variant, "<SECRET>")
                found.append(f"{where}: ...{context}...")
    return found


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def leak_stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Stack, PgDatabase | None]]:
    db: PgDatabase | None = None
    if request.param == "postgres":
        db = await create_pg_database()
    try:
        async with make_stack(tmp_path, database_url=db.url if db else None) as stack:
            await stack.start_bot()
            yield stack, db
    finally:
        if db is not None:
            await drop_pg_database(db)


async def database_text(stack: Stack, db: PgDatabase | None) -> str:
    if db is None:
        texts = []
        for path in stack.tmp.glob("bot.sqlite3*"):
            texts.append(path.read_bytes().decode("latin-1"))
        assert texts, "no SQLite file found"
        return "\n".join(texts)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is not None:
        out = await asyncio.to_thread(
            subprocess.run,
            [pg_dump, "--data-only", "--inserts", asyncpg_dsn(PG_URL, db.name)],
            capture_output=True,
            check=False,
        )
        if out.returncode == 0:
            return out.stdout.decode(errors="replace")
    # No (working) pg_dump: every column of every table, as text.
    rows = await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    texts = []
    for row in rows:
        table = row["table_name"]
        for record in await db.query(f'SELECT t::text AS row FROM "{table}" t'):
            texts.append(str(record["row"]))
    return "\n".join(texts)


async def test_passwords_only_in_ephemeral_and_reveal_modal(
    leak_stack: tuple[Stack, PgDatabase | None],
) -> None:
    stack, db = leak_stack
    flows = []
    # Per-server passwords on AK/SK, with a server that fails during execution (exception paths log).
    names = stack.resettable(3)
    request_id, card = await stack.new_request(REQUESTER, names, target="e2e-aksk", mode="per_server")
    stack.sim.add_fault("server_error", r"/os-reset-password$", method="PUT", times=None)
    stack.sim.fleet.get(stack.server_id(names[0])).locked = True  # refused at execution time
    flows.append(await stack.approve_and_collect(request_id, card))
    await stack.wait_final(request_id)
    stack.sim.clear_faults()
    # One shared password via IAM and two approvals.
    names = stack.resettable(2, skip=3)
    request_id, card = await stack.new_request(REQUESTER, names, target="e2e-iam")
    await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
    await stack.slack.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == APPROVERS[0], 10)
    flows.append(await stack.approve_and_collect(request_id, await stack.card(request_id), APPROVERS[1:2]))
    await stack.wait_final(request_id)

    delivered = sorted({p for f in flows for p in f.ephemeral_passwords + f.revealed_passwords})
    assert len(delivered) >= 2, delivered

    # A third request: delivered, never revealed, so its password stays sealed in the store.
    names = stack.resettable(1, skip=6)
    request_id, card = await stack.new_request(REQUESTER, names, target="e2e-aksk")
    await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
    await stack.slack.wait_for(
        "chat.postEphemeral",
        lambda c: f"New password(s) for request #{request_id}" in str(c.args.get("text")),
        30,
    )
    await stack.wait_final(request_id)
    sealed_call = next(
        c
        for c in stack.slack.calls("chat.postEphemeral")
        if f"request #{request_id}" in str(c.args.get("text"))
    )
    blocks = sealed_call.args["blocks"]
    sealed = passwords_in_blocks(json.loads(blocks) if isinstance(blocks, str) else blocks)
    assert sealed
    secrets = delivered + sealed
    # Stop the bot gracefully: it finishes its background work (the last notices and their log lines),
    # flushes every log line and SQLite checkpoints its WAL, so the scans below see everything.
    await stack.bot.stop()
    leaks: list[str] = []

    # Where they must be: sanity, so the scan below is not vacuous.
    carriers = [c for c in stack.slack.calls() if is_delivery(c.method, c.args)]
    carried = json.dumps([c.args for c in carriers])
    for secret in secrets:
        assert secret in carried

    log = stack.all_logs()
    assert "DEBUG" in log, "the bot did not log at DEBUG; the scan would prove nothing"
    leaks += find_leaks(log, secrets, "bot log")
    leaks += find_leaks(log, [*CLOUD_SECRETS, SIGNING_SECRET, FAKE_BOT_TOKEN, stack.secret_key], "bot log")
    db_text = await database_text(stack, db)
    assert "OPS-1 lost root password" in db_text, "the database scan read nothing useful"
    leaks += find_leaks(db_text, secrets, "database")
    for call in stack.slack.calls():
        if not is_delivery(call.method, call.args):
            leaks += find_leaks(json.dumps(call.args), secrets, f"slack {call.method}")
    for channel in list(stack.slack._messages):
        for message in stack.slack.messages(channel):
            leaks += find_leaks(json.dumps(message.as_api()), secrets, f"stored message in {channel}")
    for view in stack.slack.views.values():
        if view.callback_id != ids.REVEAL_MODAL:
            leaks += find_leaks(json.dumps(view.view), secrets, f"stored view {view.callback_id}")
    sim_records = json.dumps([[c.method, c.path, c.query, c.body, c.error_code] for c in stack.sim.calls])
    leaks += find_leaks(sim_records, secrets, "simulator records")
    assert not leaks, leaks
