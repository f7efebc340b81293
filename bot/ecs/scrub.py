"""One scrubber per call: every secret the call carries, removed from any text the cloud sends back.

The cloud may echo what it was sent: a rejected password in an error message (seen on a batch reset's
`internalError`), a token or key in a gateway page. Every string the client reads from an answer (codes,
messages, request ids, job failure reasons) passes the call's `Scrubber` before it is logged, stored,
raised or shown. The scrubber knows the call's own secrets (the new password or passwords) and the
credentials' (access and secret key, IAM password, current token), in every form an answer may carry them.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"

# Shorter strings would mangle ordinary words; every real secret (password, key, token) is longer.
MIN_SECRET_LENGTH = 4


def _variants(secret: str) -> set[str]:
    """The secret as an answer may carry it: raw, JSON-, HTML- and URL-escaped."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        # Java's HTML-safe JSON writers (Gson's default) escape <, >, &, =, ' as \u00XX.
        "".join(f"\\u{ord(c):04x}" if c in "<>&='" else c for c in json.dumps(secret)[1:-1]),
        html.escape(secret),
        html.escape(secret, quote=False),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }


class Scrubber:
    """Replaces the secrets of one call with `[redacted]` in text from the cloud.

    Built for every call, so it costs nothing until an answer has text to scrub: the secrets' forms are
    worked out on first use, and the pattern compiled only for a text that holds one. `read_later` gives
    secrets only known once the call has gone (the token it fetched), read at that first use. Callable on
    `str`; `text()` also passes `None` through.
    """

    __slots__ = ("_pattern", "_read_later", "_secrets", "_variants")

    def __init__(
        self, secrets: Iterable[str], *, read_later: Callable[[], Iterable[str]] | None = None
    ) -> None:
        self._secrets = tuple(secrets)
        self._read_later = read_later
        self._variants: list[str] | None = None
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Scrubber({len(self._secrets)} secret(s))"

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._variants is None:
            self._variants = self._all_variants()
        # Most texts (a request id, a code) carry no secret: a substring test is ~100x cheaper than
        # compiling the pattern, which per-server resets would otherwise do once per call.
        if not any(v in text for v in self._variants):
            return text
        if self._pattern is None:
            # Longest first, so a secret that contains another is masked whole.
            self._pattern = re.compile("|".join(re.escape(v) for v in self._variants))
        return self._pattern.sub(REDACTED, text)

    def _all_variants(self) -> list[str]:
        secrets = [*self._secrets, *(self._read_later() if self._read_later else ())]
        variants = set().union(*(_variants(s) for s in secrets if s and len(s) >= MIN_SECRET_LENGTH))
        return sorted(variants, key=len, reverse=True)

    def text(self, text: str | None) -> str | None:
        """`None` stays `None`; any string is scrubbed."""
        return None if text is None else self(text)


#: For answers read outside any call's context (tests, parsing helpers called without one).
NOTHING = Scrubber(())
