"""How the cloud's error answers become `bot.ecs.errors`: the one table of known codes with the sentence each
means (`ERROR_CODES`), what a bare 5xx says, and the parser of the three body shapes the clouds use (ECS,
API gateway, IAM) and of garbage. Every text from the cloud is scrubbed of the call's secrets; a request
body is never put into an error (it may carry a password).

Sources: the ECS API's error codes (Huawei Cloud and Open Telekom Cloud ECS API reference, "Error Codes"),
and the API gateway's (APIG.0101, APIG.0201 "Backend timeout", APIG.0301, APIG.0303, APIG.0308).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from bot.ecs.errors import (
    EcsApiNotFound,
    EcsAuthError,
    EcsBadRequest,
    EcsBusy,
    EcsCredentialsRefused,
    EcsError,
    EcsNotFound,
    EcsProtocolError,
    EcsServerError,
    EcsThrottled,
    InternalError,
)
from bot.ecs.scrub import NOTHING, Scrubber

_APP_AUTH = (
    "the API gateway refused the call's app authentication (an APIG app's key), which the ECS API does not "
    "use: check that the target's ECS endpoint is the ECS API"
)

# The one table of known codes: exception class and the sentence shown to people.
ERROR_CODES: dict[str, tuple[type[EcsError], str]] = {
    "Ecs.0005": (EcsBadRequest, "a parameter of the request is invalid"),
    "Ecs.0011": (EcsBadRequest, "the new password does not meet the complexity rules"),
    "Ecs.0100": (EcsBadRequest, "the server's current status does not allow this operation"),
    "Ecs.0114": (EcsNotFound, "the server does not exist in this project"),
    "Ecs.0614": (EcsNotFound, "the server does not exist in this project"),
    "Ecs.0118": (EcsBadRequest, "too many servers in one batch (at most 1000)"),
    "Ecs.0605": (EcsBadRequest, "the server is locked"),
    "Ecs.0611": (EcsBadRequest, "the batch operation failed for some servers"),
    "Ecs.0603": (EcsBusy, "other commands are running on the server; retry in a minute"),
    "Ecs.0003": (EcsAuthError, "the account is not permitted to perform this operation"),
    "Ecs.0110": (EcsAuthError, "the account is not permitted to perform this operation"),
    "Pdp.0001": (EcsAuthError, "the account's policies do not permit this operation"),
    "Common.0013": (EcsCredentialsRefused, "the authentication token is invalid or expired"),
    "Common.1503": (EcsThrottled, "the cloud is throttling requests (flow control)"),
    "Common.0024": (EcsThrottled, "the cloud's request rate limit was exceeded"),
    "Common.0001": (EcsServerError, "the cloud had an internal error"),
    "APIGW.0301": (EcsCredentialsRefused, "the API gateway rejected the signature or token"),
    "APIG.0301": (EcsCredentialsRefused, "the API gateway rejected the signature or token"),
    # App authentication (an APIG app's key and secret), which the ECS API does not use: the endpoint
    # is an API published with app authentication, not the ECS API. Refused like a bad signature (its
    # variants are an unknown app, a bad app signature and an app signature more than 15 minutes old).
    "APIGW.0303": (EcsCredentialsRefused, _APP_AUTH),
    "APIG.0303": (EcsCredentialsRefused, _APP_AUTH),
    "APIGW.0308": (EcsThrottled, "the API gateway is throttling requests"),
    # The gateway passed the call on and gave up waiting for the service ("Backend timeout"): the call
    # may have run, so it is a server error (a reset through it is "unknown").
    "APIGW.0201": (EcsServerError, "the API gateway gave up waiting for the cloud's answer"),
    "APIG.0201": (EcsServerError, "the API gateway gave up waiting for the cloud's answer"),
    "APIGW.0101": (EcsApiNotFound, "this cloud does not offer this API"),
    "APIG.0101": (EcsApiNotFound, "this cloud does not offer this API"),
}


#: Codes that are failures even when the HTTP status is 2xx.
ERROR_CODES_ON_SUCCESS = frozenset({"Common.0024"})


#: What a bare 5xx (no code, no message: the page of a proxy or load balancer in front of the cloud) says
#: happened; any other bare 5xx is the cloud's internal error. `bare_sentence` adds the status.
BARE_5XX_SENTENCES: dict[int, str] = {
    502: "a gateway in front of the cloud got no valid answer from it",
    503: "the cloud was unavailable",
    504: "a gateway in front of the cloud gave up waiting for it",
}


def bare_sentence(status: int) -> str | None:
    """The sentence for a 5xx answer that carries no code and no message, naming the HTTP status, e.g.
    "the cloud was unavailable (HTTP 503 Service Unavailable)"; None below 500 (the class's sentence and
    the status in `str()` say enough there)."""
    if status < 500:
        return None
    what = BARE_5XX_SENTENCES.get(status, EcsServerError.default_sentence)
    try:
        named = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:  # a status no RFC names (599): the number alone
        named = f"HTTP {status}"
    return f"{what} ({named})"


def sentence_for(code: str | None, cloud_message: str | None = None) -> str:
    """The human sentence for a code, falling back to the cloud's own message."""
    if code and code in ERROR_CODES:
        return ERROR_CODES[code][1]
    return cloud_message or "the cloud API call failed"


def _class_for_status(status: int) -> type[EcsError]:
    if status == 429:
        return EcsThrottled
    if status >= 500:
        return EcsServerError
    if status == 401:
        return EcsCredentialsRefused
    if status == 403:
        return EcsAuthError
    if status == 404:
        return EcsNotFound
    if 400 <= status < 500:
        return EcsBadRequest
    return EcsProtocolError


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class ParsedError:
    """The error fields found in an answer body, whatever its shape."""

    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    internal_errors: tuple[InternalError, ...] = ()


def parse_error_body(body: bytes, scrub: Scrubber = NOTHING) -> ParsedError | None:
    """Read an error from any documented body shape; None if the body is not JSON at all.

    Every string read passes `scrub` (the call's secrets), whatever field it came from.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return ParsedError()
    code = message = None
    nested = data.get("error")
    if isinstance(nested, dict):  # ECS, or IAM's {"error": {"code", "message", "title"}}
        raw_code = nested.get("code")
        code = str(raw_code) if isinstance(raw_code, str | int) else None
        message = _str_or_none(nested.get("message")) or _str_or_none(nested.get("title"))
    if code is None:  # gateway and IAM flat shape
        code = _str_or_none(data.get("error_code"))
        message = message or _str_or_none(data.get("error_msg"))
    return ParsedError(
        code=scrub.text(code),
        message=scrub.text(message),
        request_id=scrub.text(_str_or_none(data.get("request_id"))),
        internal_errors=parse_internal_errors(data.get("internalError"), scrub),
    )


def parse_internal_errors(raw: object, scrub: Scrubber = NOTHING) -> tuple[InternalError, ...]:
    """The per-server failures of a batch answer, scrubbed; entries without an id are dropped."""
    if not isinstance(raw, list):
        return ()
    found = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            found.append(
                InternalError(
                    server_id=item["id"],
                    code=scrub.text(_str_or_none(item.get("error_code"))),
                    message=scrub.text(_str_or_none(item.get("error_message"))),
                )
            )
    return tuple(found)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: not worth the complexity, backoff applies instead
    return max(seconds, 0.0)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    server_id: str | None = None,
    scrub: Scrubber = NOTHING,
) -> EcsError:
    """The exception for a failed answer: class from the code if known, else from the HTTP status.

    `scrub` holds the call's secrets: no text of the answer reaches the exception unscrubbed. A body that
    is not JSON (an HTML error page) is never quoted.
    """
    parsed = parse_error_body(body, scrub)
    if parsed is None:
        cls = _class_for_status(status) if status >= 400 else EcsProtocolError
        parsed = ParsedError()
    elif parsed.code in ERROR_CODES:
        cls = ERROR_CODES[parsed.code][0]
    else:
        cls = _class_for_status(status)
    if cls is EcsNotFound and not (parsed.code or "").startswith("Ecs."):
        # Only the ECS service's own 404 (an Ecs.* code) says the server does not exist; a gateway's,
        # a proxy's or an HTML 404 says the API is not there.
        cls = EcsApiNotFound
    message: str | None
    if parsed.code or parsed.message:
        message = sentence_for(parsed.code, parsed.message)
    else:
        # A bare answer (no code, no message) comes from a proxy or load balancer in front of the cloud.
        # Its 5xx stays an EcsServerError by status, one that may have taken effect (a reset is "unknown"):
        # a 502 or 504 says the call was passed on and no (timely) answer came back, and a 503 cannot say
        # whether the call got past it (the cloud's own front answers 503 too when overloaded mid-call).
        message = bare_sentence(status)
    return cls(
        message,
        code=parsed.code,
        http_status=status,
        request_id=scrub.text(headers.get("X-Request-Id")) or parsed.request_id,
        server_id=server_id,
        cloud_message=parsed.message,
        retry_after=_retry_after(headers),
        internal_errors=parsed.internal_errors,
    )
