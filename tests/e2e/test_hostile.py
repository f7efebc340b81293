"""What a hostile or clumsy world sends the bot subprocess: forged requests, wrong clickers, garbage,
injection attempts, a failing cloud and a database that goes away. The bot answers each clearly,
changes nothing it should not, never answers 500, and still serves a valid request afterwards.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.harness import (
    APPROVERS,
    OUTSIDER,
    REQUESTER,
    Stack,
    make_stack,
)
from support.pg import PgDatabase
from support.polling import eventually
from support.proxy import CuttableRelay

from bot.demo import submission_values
from bot.simulator.slack import SlackRequests
from bot.slack import ids

pytestmark = pytest.mark.e2e

OK_STATUSES = {200, 400, 401, 403, 404, 413}
"""403: a signed body that names no team, or another workspace's, is refused before any listener."""


async def assert_still_serves(stack: Stack) -> None:
    """A full valid request still works: the bot survived whatever came before."""
    request_id, card = await stack.new_request(REQUESTER, stack.resettable(1, skip=30))
    flow = await stack.approve_and_collect(request_id, card, (APPROVERS[9],))
    assert flow.revealed_passwords
    assert stack.bot.running


def ephemeral_to(stack: Stack, user: str, since: int) -> list[str]:
    return [
        str(c.args.get("text"))
        for c in stack.slack.calls("chat.postEphemeral")[0:]
        if c.args.get("user") == user and stack.slack.calls().index(c) >= since
    ]


async def test_forged_stale_and_unsigned_requests_get_401_and_change_nothing(stack: Stack) -> None:
    good = stack.requests.slash_command(ids.COMMAND, "", user_id=REQUESTER)
    good_trigger = urllib.parse.parse_qs(good.body.decode())["trigger_id"][0]
    forged = SlackRequests("not-the-signing-secret", slack=stack.slack).slash_command(
        ids.COMMAND, "", user_id=REQUESTER
    )
    stale = stack.requests.slash_command(ids.COMMAND, "", user_id=REQUESTER, timestamp=int(time.time()) - 600)
    future = stack.requests.slash_command(
        ids.COMMAND, "", user_id=REQUESTER, timestamp=int(time.time()) + 600
    )
    tampered_body = good.body.replace(b"user_id=" + REQUESTER.encode(), b"user_id=" + APPROVERS[0].encode())
    since = stack.slack.call_count
    attempts = [
        (forged.body, forged.headers),
        (stale.body, stale.headers),
        (future.body, future.headers),
        (tampered_body, good.headers),  # replayed signature on a changed body
        (good.body, {"Content-Type": "application/x-www-form-urlencoded"}),  # unsigned
        (good.body, {**good.headers, "X-Slack-Signature": "v0=" + "0" * 64}),
    ]
    for body, headers in attempts:
        status, _ = await stack.post_raw(body, headers)
        assert status == 401, (status, headers)
    # ... while the genuine one works. Sent after the forgeries, its answer is the barrier: by the time
    # its form has opened, anything a forgery had set off would be in the fake Slack's calls too.
    status, _ = await stack.post_raw(good.body, good.headers)
    assert status == 200
    await stack.slack.wait_for("views.open", None, 10, since=since)
    # Bolt authorizes the first request it accepts with auth.test; nothing else was called.
    caused = [(c.method, c.args.get("trigger_id")) for c in stack.slack.calls()[since:]]
    assert [c for c in caused if c[0] != "auth.test"] == [("views.open", good_trigger)], caused


async def test_clicks_by_the_wrong_people_and_on_settled_requests(stack: Stack) -> None:
    # The requester is also an approver of the target: still not on their own request.
    requester = APPROVERS[5]
    request_id, card = await stack.new_request(requester, stack.resettable(2))
    for clicker, expected in ((OUTSIDER, "approve"), (requester, "own")):
        since = stack.slack.call_count
        status, _ = await stack.click(clicker, ids.APPROVE_ACTION, card)
        assert status == 200
        answer = await stack.slack.wait_for(
            "chat.postEphemeral", lambda c, u=clicker: c.args.get("user") == u, 10, since=since
        )
        assert f"#{request_id}" in str(answer.args["text"]) or expected in str(answer.args["text"]).lower()
    # A forged request number on the button (another request, a huge one, not a number).
    for value in ("999999", "abc", "-1", "1e3", "9" * 40, ""):
        since = stack.slack.call_count
        status, _ = await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card, value=value)
        assert status == 200
        answer = await stack.slack.wait_for(
            "chat.postEphemeral", lambda c: c.args.get("user") == APPROVERS[0], 10, since=since
        )
        assert "no request" in str(answer.args["text"]) or "damaged" in str(answer.args["text"])
    assert stack.reset_calls() == {}
    # The requester cannot deny their own request either (deny modal forged).
    status, answer = await stack.deny(requester, request_id, "nope")
    assert status == 200
    assert "errors" in answer
    # Now it finishes; later clicks are told it is settled and change nothing.
    flow = await stack.approve_and_collect(request_id, card, (APPROVERS[0],), requester=requester)
    await stack.wait_final(request_id)
    resets = stack.reset_calls()
    for clicker in (APPROVERS[1], APPROVERS[0]):
        since = stack.slack.call_count
        await stack.click(clicker, ids.APPROVE_ACTION, card)
        answer = await stack.slack.wait_for(
            "chat.postEphemeral", lambda c, u=clicker: c.args.get("user") == u, 10, since=since
        )
        assert "already" in str(answer.args["text"]), answer.args
    status, answer = await stack.deny(APPROVERS[1], request_id, "too late")
    assert "already" in answer
    assert stack.reset_calls() == resets
    # Someone else clicking the requester's Reveal gets nothing.
    assert flow.revealed_passwords


async def test_expired_request_refuses_clicks(tmp_path: Path) -> None:
    async with make_stack(tmp_path, ttl="3s") as stack:
        await stack.start_bot()
        request_id, card = await stack.new_request(REQUESTER, stack.resettable(1))
        await stack.slack.wait_for(
            "chat.postMessage", lambda c: f"request #{request_id} expired" in str(c.args.get("text")), 15
        )
        since = stack.slack.call_count
        await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
        answer = await stack.slack.wait_for(
            "chat.postEphemeral", lambda c: c.args.get("user") == APPROVERS[0], 10, since=since
        )
        assert "expired" in str(answer.args["text"])
        assert stack.reset_calls() == {}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    payload=st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=50),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
            ),
            max_leaves=20,
        ).map(json.dumps),
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(
                    ["block_actions", "view_submission", "block_suggestion", "view_closed", "shortcut"]
                ),
                "user": st.one_of(
                    st.none(),
                    st.just({"id": REQUESTER}),
                    st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
                ),
                "actions": st.lists(
                    st.fixed_dictionaries(
                        {
                            "action_id": st.sampled_from(
                                [
                                    ids.APPROVE_ACTION,
                                    ids.DENY_ACTION,
                                    ids.CANCEL_ACTION,
                                    ids.REVEAL_ACTION,
                                    "x",
                                ]
                            ),
                            "value": st.one_of(st.none(), st.text(max_size=30), st.integers()),
                        }
                    ),
                    max_size=2,
                ),
                "view": st.one_of(
                    st.none(),
                    st.fixed_dictionaries(
                        {
                            "callback_id": st.sampled_from([ids.REQUEST_MODAL, ids.DENY_MODAL, "x"]),
                            "private_metadata": st.text(max_size=20),
                            "state": st.just({"values": {}}),
                        }
                    ),
                ),
            }
        ).map(json.dumps),
    )
)
def fuzz_cases(payload: str) -> None:
    FUZZED.append(payload)


FUZZED: list[str] = []


async def test_fuzzed_and_oversized_payloads_never_crash_the_bot(stack: Stack) -> None:
    FUZZED.clear()
    fuzz_cases()
    bodies = [urllib.parse.urlencode({"payload": p}).encode() for p in FUZZED]
    bodies += [
        b"payload=",
        b"payload=%7B",
        b"garbage",
        b"command=/reset-ecs-password",  # a command with no user
        urllib.parse.urlencode({"payload": "x" * 2_000_000}).encode(),  # 2 MB
    ]
    for body in bodies:
        status, text = await stack.post_raw(body, stack.requests.sign(body))
        assert status in OK_STATUSES, (status, text, body[:200])
    # Submissions that are well-formed but hostile: 1,001 pasted servers, not-UUID IDs, a 10k reason.
    view = await stack.open_modal(REQUESTER)
    cases = [
        ("\n".join(f"web-{i:04d}" for i in range(1, 1002)), "OPS-1 many", "paste"),
        ("../../etc/passwd\n' OR '1'='1\n%00\n" + "z" * 5000, "OPS-1 odd ids", "paste"),
        (stack.resettable(1)[0], "OPS-1 " + "long " * 2000, "reason"),
    ]
    for paste, reason, block in cases:
        values = submission_values(target="e2e-aksk", paste=paste, reason=reason)
        status, answer = await stack.send(
            stack.requests.view_submission(user_id=REQUESTER, view=view, values=values)
        )
        assert status == 200
        parsed = json.loads(answer)
        assert parsed["response_action"] == "errors", parsed
        assert block in parsed["errors"], parsed
    log = stack.bot.log_text()
    assert "Traceback" not in log or "listener for" in log  # errors are reported, not fatal
    await assert_still_serves(stack)


async def test_injection_in_reason_is_escaped_and_stored_safely(stack: Stack) -> None:
    reason = (
        "OPS-7 <!channel> *bold* <@U0ADMIN> <https://evil.example|click> "
        "'; DROP TABLE requests; -- ünï©ødé 🚀"
    )
    request_id, card = await stack.new_request(REQUESTER, stack.resettable(1), reason=reason)
    rendered = json.dumps(card.blocks, ensure_ascii=False)
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert "<https://evil.example" not in rendered
    assert "ünï©ødé" in rendered
    # Everywhere the bot wrote, no raw mention slipped through.
    for call in stack.slack.calls():
        if call.method.startswith("chat."):
            assert "<!channel>" not in json.dumps(call.args), call
    # The database kept it verbatim (the table still exists: parameters, not string SQL).
    status, text = await stack.send(
        stack.requests.slash_command(ids.COMMAND, f"status {request_id}", user_id=REQUESTER)
    )
    assert status == 200
    assert f"#{request_id}" in text
    await assert_still_serves(stack)


async def test_cloud_errors_reach_card_and_dm_naming_the_server(stack: Stack) -> None:
    names = stack.resettable(4, os_type="Linux")
    servers = {n: stack.sim.fleet.by_name(n) for n in names}
    request_id, card = await stack.new_request(REQUESTER, names)
    # Between pre-flight and execution the world changes: one server locked, one stopped in error.
    servers[names[0]].locked = True
    servers[names[1]].status = "ERROR"
    await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
    final = await stack.wait_final(request_id)
    assert "2 of 4 server(s) reset" in str(final.args["text"]), final.args
    thread = "\n".join(
        str(c.args.get("text")) for c in stack.slack.calls("chat.postMessage") if c.args.get("thread_ts")
    )
    lines = {n: next((line for line in thread.splitlines() if f"`{n}`" in line), "") for n in names}
    assert "locked" in lines[names[0]].lower(), thread
    assert "does not allow" in lines[names[1]] or "ERROR" in lines[names[1]], thread

    # Throttling and server errors during pre-flight: the requester is told, in a sentence.
    stack.sim.add_fault("server_error", r"os-reset-passwords", method="PUT", times=None)
    stack.sim.add_fault("server_error", r"os-resetpwd-flag", times=None)
    since = stack.slack.call_count
    status, _answer = await stack.submit(REQUESTER, stack.resettable(1, skip=10))
    assert status == 200
    told = await stack.slack.wait_for(
        "chat.postMessage",
        lambda c: "cannot run" in str(c.args.get("text")) or "could not" in str(c.args.get("text")),
        60,
        since=since,
    )
    assert "cloud" in str(told.args["text"]).lower(), told.args
    stack.sim.clear_faults()

    # The cloud refuses the real call for every server (after a clean pre-flight).
    request_id, card = await stack.new_request(REQUESTER, stack.resettable(1, skip=12))
    stack.sim.add_fault("busy", r"os-reset-passwords", method="PUT", times=None)
    await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
    final = await stack.wait_final(request_id, timeout=90)
    assert "0 of 1 server(s) reset" in str(final.args["text"]), final.args
    thread = "\n".join(
        str(c.args.get("text")) for c in stack.slack.calls("chat.postMessage") if c.args.get("thread_ts")
    )
    assert stack.resettable(1, skip=12)[0] in thread
    stack.sim.clear_faults()
    await assert_still_serves(stack)


async def health(stack: Stack) -> bool:
    """True once the bot's /healthz says it is healthy."""
    async with stack.http.get(f"{stack.bot.url}/healthz") as response:
        return response.status == 200


@pytest.mark.postgres
async def test_database_outage_gets_a_clear_answer_and_nothing_is_lost(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_database.url)
    proxy = CuttableRelay(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        async with make_stack(tmp_path, database_url=proxied) as stack:
            await stack.start_bot()
            request_id, card = await stack.new_request(REQUESTER, stack.resettable(2))
            proxy.cut()
            # The approver is told it did not work, within Slack's deadlines.
            since = stack.slack.call_count
            started = time.monotonic()
            status, _ = await stack.click(APPROVERS[0], ids.APPROVE_ACTION, card)
            assert status == 200
            assert time.monotonic() - started < 3
            answer = await stack.slack.wait_for(
                "chat.postEphemeral", lambda c: c.args.get("user") == APPROVERS[0], 30, since=since
            )
            assert "could not be recorded" in str(answer.args["text"]), answer.args
            # A new request is refused inline, with a sentence, in time.
            view = await stack.open_modal(REQUESTER)
            values = submission_values(
                target="e2e-aksk", paste=stack.resettable(1, skip=5)[0], reason="OPS-2 x"
            )
            started = time.monotonic()
            status, text = await stack.send(
                stack.requests.view_submission(user_id=REQUESTER, view=view, values=values)
            )
            assert time.monotonic() - started < 3.5
            assert status == 200
            assert "could not record" in text, text
            async with stack.http.get(f"{stack.bot.url}/healthz") as r:
                assert r.status == 503
            assert stack.reset_calls() == {}
            # The database comes back: the same click now goes through, the pending request was kept.
            proxy.restore()
            await eventually(lambda: health(stack), 30, "the bot healthy again once the database answers")
            flow = await stack.approve_and_collect(request_id, card)
            assert flow.revealed_passwords
            assert stack.bot.running
    finally:
        await proxy.close()
