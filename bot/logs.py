"""Logging set-up: text or JSON lines, with redaction of secrets as defence in depth.

The code never logs a password on purpose; this module makes sure an accident (an exception message, a
debug dump of an HTTP request, a library at DEBUG) still prints no Slack token, no auth header and no
secret the bot registered at run time (each generated password while it lives in memory).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import sys
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Literal, TextIO

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactionFilter",
    "TextFormatter",
    "configure_logging",
    "forget_secret",
    "library_logger",
    "redact",
    "register_secret",
    "registered_secret",
]

REDACTED = "[REDACTED]"

# Secrets shorter than this would mangle ordinary words in every log line; real ones are longer.
_MIN_SECRET_LENGTH = 6

# Secret-shaped text; the group named `secret` is what gets masked, the rest stays readable.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Slack tokens: bot, user, app-level, refresh, configuration.
    re.compile(r"\b(?:xox[a-z]|xapp|xoxe\.xox[a-z])-(?P<secret>[A-Za-z0-9-]+)"),
    # Header values: "Authorization: ...", 'X-Auth-Token': '...', x-subject-token=...
    re.compile(
        r"(?i)\b(?:authorization|x-auth-token|x-subject-token|x-slack-signature)"
        r"[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\"'\r\n]+)"
    ),
    # Secret-looking keys in JSON and Python reprs: "password": "...", 'secret_key': '...'.
    re.compile(
        r"(?i)[\"'](?:new_password|password|passwd|secret|secret_key|sk|token|api_key)[\"']\s*:\s*"
        r"[\"'](?P<secret>[^\"']+)"
    ),
    # ... and in query strings and keyword dumps: password=...
    re.compile(r"(?i)\b(?:new_password|password|passwd|secret_key|api_key)=(?P<secret>[^\s&,;)\"'\\]+)"),
)


class _SecretRegistry:
    """Strings to mask wherever they appear; counted, so two holders of one secret can each forget it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._pattern: re.Pattern[str] | None = None

    @staticmethod
    def _variants(secret: str) -> set[str]:
        """The secret as it may be printed: raw, JSON-escaped, repr-escaped, URL-encoded."""
        return {
            secret,
            json.dumps(secret)[1:-1],
            repr(secret)[1:-1],
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret, safe=""),
        }

    def add(self, secret: str) -> None:
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            for v in self._variants(secret):
                self._counts[v] += 1
            self._pattern = None

    def discard(self, secret: str) -> None:
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            for v in self._variants(secret):
                if self._counts[v] > 1:
                    self._counts[v] -= 1
                else:
                    del self._counts[v]
            self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._counts:
                # Longest first, so a secret that contains another is masked whole.
                ordered = sorted(self._counts, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            return self._pattern


_registry = _SecretRegistry()


def register_secret(secret: str) -> None:
    """Mask `secret` in every log line until `forget_secret` is called as often as this was."""
    _registry.add(secret)


def forget_secret(secret: str) -> None:
    """Stop masking `secret` (call when it is erased from memory)."""
    _registry.discard(secret)


@contextlib.contextmanager
def registered_secret(secret: str) -> Iterator[str]:
    """`with registered_secret(password):` masks it in logs for exactly the time the block holds it."""
    register_secret(secret)
    try:
        yield secret
    finally:
        forget_secret(secret)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace the union of `spans` by REDACTED; spans are found on the original text, so one
    replacement can never hide the rest of another secret from its pattern."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out += [text[position:start], REDACTED]
        position = end
    out.append(text[position:])
    return "".join(out)


def _registered_spans(text: str) -> list[tuple[int, int]]:
    pattern = _registry.pattern()
    return [] if pattern is None else [m.span() for m in pattern.finditer(text)]


def _redact_registered(text: str) -> str:
    return _mask(text, _registered_spans(text))


def redact(text: str) -> str:
    """`text` with registered secrets, Slack tokens and auth header values replaced by [REDACTED]."""
    spans = _registered_spans(text)
    for regex in _PATTERNS:
        spans.extend(m.span("secret") for m in regex.finditer(text))
    return _mask(text, spans)


def _redact_value(value: Any) -> Any:
    """Redact strings, and containers as their text (they may hold a secret anywhere inside)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(repr(value))


# Attributes every LogRecord has; anything else came from `extra=` and is shown as a field.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys() | {"message", "asctime"}
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class RedactionFilter(logging.Filter):
    """Rewrites each record before any formatter sees it: message, extras, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not drop the record, nor leak its args
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg, record.args = redact(message), None
        for key, value in _extras(record).items():
            setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value...`; the final line is redacted once more."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            fields = " ".join(f"{k}={_redact_value(v)}" for k, v in sorted(extras.items()))
            head, sep, tail = line.partition("\n")
            line = f"{head} [{fields}]{sep}{tail}"
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception; values pre-redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        # Values are redacted already; a second pass of the shape patterns could cut through JSON escapes,
        # so the encoded line only gets the registered secrets (replaced by JSON-safe text).
        return _redact_registered(json.dumps(entry, default=str, ensure_ascii=False))


_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")

_REQUEST_ID: ContextVar[int | None] = ContextVar("request_id", default=None)


def bind_request(request_id: int) -> None:
    """Every log line from here on in this task (and the tasks it starts) carries `request_id`."""
    _REQUEST_ID.set(request_id)


class RequestIdFilter(logging.Filter):
    """Adds the request being worked on, so an operator can follow one request through the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def configure_logging(
    level: str = "INFO",
    fmt: Literal["text", "json"] = "text",
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root handlers with one redacting handler on `stream` (stderr) and return it."""
    name = level.strip().upper()
    if name not in _LEVELS:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, not {level!r}")
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(name)
    logging.captureWarnings(True)
    _quiet_libraries(name)
    return handler


class _DropMessages(logging.Filter):
    """Drops records whose message is one of `messages` (library warnings that do not apply here)."""

    def __init__(self, *messages: str) -> None:
        super().__init__()
        self.messages = frozenset(messages)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.messages


def _quiet_libraries(level: str) -> None:
    """Library lines an operator cannot act on stay out of INFO (they are all there at DEBUG).

    alembic announces each plug-in it sets up; Bolt warns that SLACK_BOT_TOKEN is unused because the bot
    hands it a client built with that very token.
    """
    debug = level == "DEBUG"
    logging.getLogger("alembic").setLevel(logging.NOTSET if debug else logging.WARNING)
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    for old in [f for f in bolt.filters if isinstance(f, _DropMessages)]:
        bolt.removeFilter(old)
    if not debug:
        bolt.addFilter(_DropMessages("As you gave `client` as well, `token` will be unused."))


def library_logger(name: str) -> logging.Logger:
    """A logger for slack_sdk's client whose own level is the level in force.

    slack_sdk decides whether to build its DEBUG lines (the whole request and answer, formatted) from the
    logger's *own* level, which is 0 unless someone sets it; left alone, it formats both on every call even
    at INFO, ~13 % of the bot's CPU per slash command (py-spy, bench/ack_latency.py).
    """
    logger = logging.getLogger(name)
    logger.setLevel(logging.NOTSET)  # a second runtime in the same process re-reads the level in force
    logger.setLevel(logger.getEffectiveLevel())
    return logger
