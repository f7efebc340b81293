"""AK/SK request signing (SDK-HMAC-SHA256), byte for byte as the official Huawei Cloud SDK signs."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Each segment percent-encoded (only `~` kept), always ending in `/` as the gateway expects."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: str) -> str:
    """Sorted `k=v` pairs, both sides percent-encoded, joined with `&`."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)


def encode_query(params: Mapping[str, str]) -> str:
    """A query string in the same encoding the signer canonicalises, so what is sent is what is signed."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers to add to the request (`X-Sdk-Date` and `Host` unless given, `Authorization`)."""
    parts = urlsplit(url)
    lowered = {name.lower() for name in headers}
    added: dict[str, str] = {}
    if "x-sdk-date" in lowered:
        date = next(v for k, v in headers.items() if k.lower() == "x-sdk-date")
    else:
        date = (now or datetime.now(UTC)).strftime(DATE_FORMAT)
        added["X-Sdk-Date"] = date
    if "host" not in lowered:
        added["Host"] = parts.netloc
    all_headers = {k.lower(): str(v).strip() for k, v in {**headers, **added}.items()}
    signed = sorted(name for name in all_headers if "_" not in name)
    canonical_headers = "".join(f"{name}:{all_headers[name]}\n" for name in signed)
    signed_list = ";".join(signed)
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path or "/"),
            canonical_query(parts.query),
            canonical_headers,
            signed_list,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    string_to_sign = "\n".join([ALGORITHM, date, hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    added["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={signed_list}, Signature={signature}"
    )
    return added
