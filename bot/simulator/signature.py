"""SDK-HMAC-SHA256 (the Huawei Cloud / OTC AK/SK scheme), as the simulated gateway checks it.

Implemented here from reference/ecs-api.md, independently of bot/ecs/signer.py, so the
simulator can catch a client that signs wrongly. `sign()` exists for tests and tools that
need a correctly signed raw request without the bot's client.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

_AUTHORIZATION = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)


@dataclass(frozen=True)
class Authorization:
    """The parts of an `Authorization: SDK-HMAC-SHA256 …` header."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    """The header's parts, or None when it is not an SDK-HMAC-SHA256 header."""
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        return None
    return Authorization(
        access_key=match["access"],
        signed_headers=tuple(match["signed"].split(";")),
        signature=match["signature"].lower(),
    )


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Each segment percent-encoded (safe `~`), always ending with `/`."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted `k=v` pairs, both sides percent-encoded, joined with `&`."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    body: bytes,
) -> str:
    """The text whose hash is signed; `headers` must be keyed by lower-case name."""
    names = list(signed_headers)
    header_lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256
    if body and headers.get("x-sdk-content-sha256") == "UNSIGNED-PAYLOAD":
        body_hash = "UNSIGNED-PAYLOAD"
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            header_lines,
            ";".join(names),
            body_hash,
        ]
    )


def signature_for(secret_key: str, sdk_date: str, canonical: str) -> str:
    """Hex HMAC-SHA256 of the string to sign."""
    string_to_sign = "\n".join([ALGORITHM, sdk_date, hashlib.sha256(canonical.encode()).hexdigest()])
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def sign(
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The Authorization header value for a request whose headers include Host and X-Sdk-Date."""
    lowered = {name.lower(): value for name, value in headers.items()}
    signed = sorted(name for name in lowered if "_" not in name)
    canonical = canonical_request(method, path, query, lowered, signed, body)
    signature = signature_for(secret_key, lowered["x-sdk-date"], canonical)
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={signature}"


def signature_valid(
    auth: Authorization,
    secret_key: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> bool:
    """True when `auth.signature` is what `secret_key` gives for this request (constant-time)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    canonical = canonical_request(method, path, query, lowered, auth.signed_headers, body)
    expected = signature_for(secret_key, lowered.get("x-sdk-date", ""), canonical)
    return hmac.compare_digest(expected, auth.signature)
