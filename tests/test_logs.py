"""A canary secret logged every way we can think of never reaches the output, in either format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Literal

import pytest

from bot.logs import (
    REDACTED,
    configure_logging,
    forget_secret,
    library_logger,
    redact,
    register_secret,
    registered_secret,
)
from bot.passwords import generate_password

FORMATS: list[Literal["text", "json"]] = ["text", "json"]


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def capture(fmt: Literal["text", "json"]) -> io.StringIO:
    out = io.StringIO()
    configure_logging("debug", fmt, stream=out)
    return out


def log_everywhere(canary: str) -> None:
    log = logging.getLogger("bot.test.canary")
    log.debug("message %s", canary)
    log.debug(f"f-string {canary}")
    log.info("extra", extra={"request_id": "R-1", "user": "U123", "target": canary, "blob": {"pw": canary}})
    try:
        raise RuntimeError(f"reset failed with password {canary}")
    except RuntimeError:
        log.exception("boom")
    try:
        {"new_password": canary}["missing"]
    except KeyError:
        log.debug("with traceback", exc_info=True, stack_info=True)
    log.warning("dict %r", {"new_password": canary, "servers": [{"id": "s1"}]})
    log.debug("json body %s", json.dumps({"auth": {"password": canary}}))
    log.debug("url https://x/?a=1&password=%s", canary)


@pytest.mark.parametrize("fmt", FORMATS)
def test_registered_canary_never_printed_at_debug(fmt: Literal["text", "json"], restore_root: None) -> None:
    out = capture(fmt)
    canary = generate_password()
    with registered_secret(canary):
        log_everywhere(canary)
    text = out.getvalue()
    assert canary not in text
    assert json.dumps(canary)[1:-1] not in text
    assert REDACTED in text
    assert "R-1" in text  # ordinary extras survive
    assert "Traceback" in text
    assert "RuntimeError" in text
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines()]  # every line is one object
        assert {"time", "level", "logger", "message"} <= lines[0].keys()
        extra = next(e for e in lines if e["message"] == "extra")
        assert extra["request_id"] == "R-1"
        assert extra["user"] == "U123"
        assert extra["target"] == REDACTED
        assert any("exception" in e for e in lines)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unregistered_canary_in_secret_shaped_places(
    fmt: Literal["text", "json"], restore_root: None
) -> None:
    """Tokens and header values are masked even when nobody registered them."""
    out = capture(fmt)
    log = logging.getLogger("bot.test.shapes")
    log.debug("token xoxb-1234-5678-CANARYabc and xapp-1-A0-CANARYdef and xoxp-9-CANARYghi")
    log.debug("headers %s", {"Authorization": "SDK-HMAC-SHA256 Access=AK, Signature=CANARYsig"})
    log.debug("X-Auth-Token: CANARYtoken")
    log.debug("x-subject-token=CANARYsubject")
    log.debug("body %s", json.dumps({"new_password": "CANARYpw1!"}))
    try:
        raise ValueError("Authorization: Bearer CANARYexc")
    except ValueError:
        log.exception("failed")
    text = out.getvalue()
    assert "CANARY" not in text, text


def test_forget_stops_masking_and_counts() -> None:
    secret = "Forget-Me-7!"
    register_secret(secret)
    register_secret(secret)
    forget_secret(secret)
    assert secret not in redact(f"a {secret} b")
    forget_secret(secret)
    assert redact(f"a {secret} b") == f"a {secret} b"


def test_longest_secret_wins() -> None:
    with registered_secret("abcdef12"), registered_secret("abcdef12345!"):
        assert redact("x abcdef12345! y") == f"x {REDACTED} y"


def test_short_strings_are_not_registered() -> None:
    with registered_secret("ab"):
        assert redact("abc tab") == "abc tab"


def test_encoded_forms_masked() -> None:
    secret = "Pa/ss:w?rd@1"
    with registered_secret(secret):
        assert "Pa%2Fss" not in redact("url Pa%2Fss%3Aw%3Frd%401")


def test_bad_level_and_format(restore_root: None) -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("LOUD", "text")
    with pytest.raises(ValueError, match="log format"):
        configure_logging("INFO", "xml")  # type: ignore[arg-type]


def test_configure_replaces_handlers_and_sets_level(restore_root: None) -> None:
    out = io.StringIO()
    handler = configure_logging("warning", "text", stream=out)
    assert logging.getLogger().handlers == [handler]
    logging.getLogger("x").info("hidden")
    logging.getLogger("x").warning("shown")
    assert "hidden" not in out.getvalue()
    assert "WARNING x: shown" in out.getvalue()


def test_unformattable_message_does_not_leak_args(restore_root: None) -> None:
    out = capture("text")
    canary = "Zz-unformattable-secret"
    logging.getLogger("x").error("%d", canary)
    assert canary not in out.getvalue()


async def test_lines_carry_the_request_being_worked_on() -> None:
    import asyncio

    from bot.logs import bind_request

    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    log = logging.getLogger("bot.workflow.test")

    async def work(request_id: int | None) -> None:
        if request_id is not None:
            bind_request(request_id)
        await asyncio.sleep(0)
        log.info("step")

    await asyncio.gather(work(42), work(7), work(None))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(str(line.get("request_id")) for line in lines) == ["42", "7", "None"]


def test_slack_sdk_client_builds_its_debug_lines_only_at_debug(restore_root: None) -> None:
    """slack_sdk checks its logger's *own* level before formatting each request and answer."""
    configure_logging("INFO", "text", stream=io.StringIO())
    quiet = library_logger("slack_sdk.web.async_client")
    assert quiet.level == logging.INFO
    assert not quiet.level <= logging.DEBUG
    configure_logging("DEBUG", "text", stream=io.StringIO())
    assert library_logger("slack_sdk.web.async_client").level == logging.DEBUG
