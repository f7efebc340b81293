"""Every documented error body shape maps to the right exception class and a sentence a human can act on."""

from __future__ import annotations

import json

import pytest

from bot.ecs import (
    ERROR_CODES,
    EcsApiNotFound,
    EcsAuthError,
    EcsBadRequest,
    EcsCredentialsRefused,
    EcsError,
    EcsNotFound,
    EcsProtocolError,
    EcsServerError,
    EcsThrottled,
    error_from_response,
)
from bot.ecs.errors import EcsBusy
from bot.ecs.scrub import Scrubber


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_ecs_shape_with_internal_errors() -> None:
    err = error_from_response(
        400,
        {"X-Request-Id": "req-1"},
        body(
            {
                "error": {"code": "Ecs.0611", "message": "batch failed"},
                "internalError": [{"id": "s2", "error_code": "Ecs.0605", "error_message": "locked"}],
            }
        ),
        server_id=None,
    )
    assert type(err) is EcsBadRequest
    assert err.code == "Ecs.0611"
    assert err.request_id == "req-1"
    assert err.cloud_message == "batch failed"
    assert [(e.server_id, e.code) for e in err.internal_errors] == [("s2", "Ecs.0605")]
    assert (
        str(err)
        == "ECS API: the batch operation failed for some servers (Ecs.0611, HTTP 400, request id req-1)"
    )


def test_sentence_names_the_server() -> None:
    err = error_from_response(400, {"X-Request-Id": "abc"}, body({"error": {"code": "Ecs.0605"}}), "3f2a")
    err.server_name = "web-1"
    assert str(err) == "Server 3f2a (web-1): the server is locked (Ecs.0605, HTTP 400, request id abc)"


def test_gateway_shape_request_id_from_body() -> None:
    err = error_from_response(
        429, {}, body({"error_code": "APIGW.0308", "error_msg": "throttled", "request_id": "gw-9"})
    )
    assert type(err) is EcsThrottled
    assert err.request_id == "gw-9"
    assert "throttling" in str(err)


def test_header_request_id_wins_over_body() -> None:
    err = error_from_response(
        500, {"X-Request-Id": "hdr"}, body({"error_code": "Common.0001", "error_msg": "x", "request_id": "b"})
    )
    assert err.request_id == "hdr"
    assert type(err) is EcsServerError


def test_iam_shapes() -> None:
    flat = error_from_response(401, {}, body({"error_code": "Common.0013", "error_msg": "bad token"}))
    assert type(flat) is EcsCredentialsRefused
    nested = error_from_response(
        401,
        {},
        body({"error": {"code": 401, "message": "The request requires authentication.", "title": "x"}}),
    )
    assert type(nested) is EcsCredentialsRefused
    assert nested.code == "401"
    assert nested.message == "The request requires authentication."


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (429, "Common.1503", EcsThrottled),
        (202, "Common.0024", EcsThrottled),
        (500, "Common.0001", EcsServerError),
        (504, "APIGW.0201", EcsServerError),  # the gateway's backend timeout
        (504, "APIG.0201", EcsServerError),
        (501, "Ecs.0603", EcsBusy),
        (401, "APIGW.0301", EcsCredentialsRefused),
        (401, "APIG.0301", EcsCredentialsRefused),
        (401, "APIGW.0303", EcsCredentialsRefused),  # app authentication: the endpoint is not the ECS API
        (401, "APIG.0303", EcsCredentialsRefused),
        (403, "Ecs.0003", EcsAuthError),
        (403, "Ecs.0110", EcsAuthError),
        (403, "Pdp.0001", EcsAuthError),
        (404, "Ecs.0114", EcsNotFound),
        (404, "Ecs.0614", EcsNotFound),
        (404, "APIGW.0101", EcsApiNotFound),
        (404, "APIG.0101", EcsApiNotFound),
        (400, "Ecs.0005", EcsBadRequest),
        (400, "Ecs.0011", EcsBadRequest),
        (400, "Ecs.0100", EcsBadRequest),
        (400, "Ecs.0118", EcsBadRequest),
        (400, "Ecs.0605", EcsBadRequest),
    ],
)
def test_known_codes(status: int, code: str, cls: type[EcsError]) -> None:
    err = error_from_response(status, {}, body({"error": {"code": code, "message": "raw"}}))
    assert type(err) is cls
    assert err.message == ERROR_CODES[code][1]
    assert err.http_status == status


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, EcsThrottled),
        (503, EcsServerError),
        (403, EcsAuthError),
        (404, EcsNotFound),
        (409, EcsBadRequest),
    ],
)
def test_unknown_code_classified_by_status_and_keeps_cloud_message(status: int, cls: type[EcsError]) -> None:
    err = error_from_response(status, {}, body({"error": {"code": "Ecs.9999", "message": "odd thing"}}))
    assert type(err) is cls
    assert err.message == "odd thing"


@pytest.mark.parametrize("raw", [b"<html>502 Bad Gateway</html>", b"", b"\xff\xfe", b"[1, 2]", b"null"])
def test_garbage(raw: bytes) -> None:
    assert isinstance(error_from_response(502, {}, raw), EcsServerError)
    assert isinstance(error_from_response(400, {}, raw), EcsBadRequest)
    assert isinstance(error_from_response(200, {}, raw), EcsProtocolError)


def test_retry_after_seconds_read_and_dates_ignored() -> None:
    assert error_from_response(429, {"Retry-After": "7"}, b"").retry_after == 7.0
    assert error_from_response(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"").retry_after is None


def test_may_have_taken_effect() -> None:
    assert error_from_response(500, {}, body({"error_code": "Common.0001"})).may_have_taken_effect
    assert not error_from_response(501, {}, body({"error": {"code": "Ecs.0603"}})).may_have_taken_effect
    assert not error_from_response(400, {}, b"").may_have_taken_effect


@pytest.mark.parametrize(
    "raw",
    [
        b"<html><body><h1>404 Not Found</h1></body></html>",
        b"",
        b'{"error_code": "APIGW.0199", "error_msg": "no route"}',
        b'{"message": "Not Found"}',
    ],
)
def test_a_404_without_an_ecs_code_says_the_api_is_not_there(raw: bytes) -> None:
    # Only the ECS service's own 404 says a server does not exist; a gateway's, a proxy's or an HTML one
    # must not tell every server of a batch "does not exist in this project".
    err = error_from_response(404, {}, raw, server_id="s1")
    assert type(err) is EcsApiNotFound
    assert not err.gateway_says_no_such_api
    assert "does not exist" not in str(err)
    if not raw.startswith(b"{"):
        assert err.message == "the API is not available at this endpoint"


def test_a_refusal_names_a_clock_that_is_off() -> None:
    refused = error_from_response(
        401, {}, body({"error_code": "APIGW.0301", "error_msg": "verify aksk signature fail"})
    )
    assert isinstance(refused, EcsCredentialsRefused)
    refused.explain(20 * 60 + 3, "the access key")
    assert "the bot's clock is 20 minutes ahead of the cloud's" in str(refused)
    assert "NTP" in str(refused)
    behind = error_from_response(401, {}, body({"error_code": "APIGW.0301"}))
    behind.explain(-400, "the access key")  # type: ignore[attr-defined]
    assert "7 minutes behind" in str(behind)
    calm = error_from_response(401, {}, body({"error_code": "APIGW.0301"}))
    calm.explain(30, "the target's access key and secret key")  # type: ignore[attr-defined]
    assert "check the target's access key and secret key" in str(calm)
    assert "clock is" not in str(calm)
    unsent = refused.not_attempted()
    assert unsent.message.startswith("not attempted: the cloud refused the bot's credentials")
    assert unsent.may_have_taken_effect is False


def test_app_authentication_is_a_refusal_that_names_the_endpoint_not_the_clock() -> None:
    # APIGW.0303 answers calls to an API published with APIG app authentication: the bot signs as an IAM
    # user, so its endpoint is not the ECS API. The clock is named only when measured off (`explain`).
    said = "Incorrect app authentication information: app not found, appkey 0117e5e1"
    err = error_from_response(401, {}, body({"error_code": "APIGW.0303", "error_msg": said}))
    assert isinstance(err, EcsCredentialsRefused)
    assert "ECS endpoint" in err.message
    assert "clock" not in err.message
    err.explain(None, "the target's access key and secret key")
    assert "clock" not in str(err)


@pytest.mark.parametrize(
    ("status", "sentence"),
    [
        (502, "a gateway in front of the cloud got no valid answer from it (HTTP 502 Bad Gateway)"),
        (503, "the cloud was unavailable (HTTP 503 Service Unavailable)"),
        (504, "a gateway in front of the cloud gave up waiting for it (HTTP 504 Gateway Timeout)"),
        (500, "the cloud had an internal error (HTTP 500 Internal Server Error)"),
        (599, "the cloud had an internal error (HTTP 599)"),
    ],
)
@pytest.mark.parametrize(
    "raw",
    [b"", b"503 Service Unavailable: no healthy upstream", b"<html><h1>Bad Gateway</h1></html>", b"{}"],
    ids=["empty", "text", "html", "json-without-code"],
)
def test_a_bare_5xx_names_what_happened_and_the_status(status: int, sentence: str, raw: bytes) -> None:
    # A proxy or load balancer in front of the cloud answers without a code or message: the sentence says
    # what happened and the status; it may have reached the cloud, so a reset through it is unknown.
    err = error_from_response(status, {"X-Request-Id": "lb-1"}, raw, server_id="s1")
    assert type(err) is EcsServerError
    assert err.may_have_taken_effect
    assert (err.code, err.cloud_message, err.http_status) == (None, None, status)
    assert err.message == sentence
    assert str(err) == f"Server s1: {sentence} (request id lb-1)"  # the status once, not twice


def test_a_5xx_with_a_code_or_message_keeps_the_cloud_s_words() -> None:
    coded = error_from_response(503, {}, body({"error_code": "Common.0001"}))
    assert coded.message == ERROR_CODES["Common.0001"][1]
    assert str(coded) == f"ECS API: {ERROR_CODES['Common.0001'][1]} (Common.0001, HTTP 503)"
    said = error_from_response(502, {}, body({"error": {"message": "upstream reset"}}))
    assert (said.message, said.code) == ("upstream reset", None)


def test_a_bare_4xx_keeps_the_class_sentence() -> None:
    err = error_from_response(400, {}, b"<html>Bad Request</html>")
    assert err.message == EcsBadRequest.default_sentence
    assert str(err) == f"ECS API: {EcsBadRequest.default_sentence} (HTTP 400)"


def test_a_bare_answer_s_body_is_never_quoted() -> None:
    # A proxy's page may echo the request; whatever it says stays out of the error.
    secret = "Canary:Pw9x"
    err = error_from_response(503, {}, f"upstream said {secret}".encode(), scrub=Scrubber([secret]))
    assert secret not in repr(err) + str(err)
    assert "upstream" not in str(err)
