"""The signer reproduces the reference test vector and agrees with the official SDK's signer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ecs.signer import canonical_uri, encode_query, sign_request


def test_reference_vector() -> None:
    body = json.dumps({"new_password": "Abc@12345", "dry_run": True, "servers": [{"id": "s1"}]}).encode()
    added = sign_request(
        "PUT",
        "https://ecs.eu-de.otc.t-systems.com/v1/pid/cloudservers/os-reset-passwords",
        {
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": "pid",
            "X-Sdk-Date": "20240101T000000Z",
            "User-Agent": "huaweicloud-usdk-python/3.0",
        },
        body,
        "AKEXAMPLE",
        "SKEXAMPLE",
    )
    assert added["Host"] == "ecs.eu-de.otc.t-systems.com"
    assert "X-Sdk-Date" not in added  # given by the caller, kept
    assert added["Authorization"] == (
        "SDK-HMAC-SHA256 Access=AKEXAMPLE, "
        "SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, "
        "Signature=92305a23dfab65b4b95469476f87e59875deb03a79d2edf7863947ec5ee8094c"
    )


def test_date_added_from_now() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    added = sign_request("GET", "https://h/v1/p", {}, b"", "AK", "SK", now)
    assert added["X-Sdk-Date"] == "20240506T070809Z"


def test_canonical_uri_always_ends_with_slash() -> None:
    assert canonical_uri("/v1/pid/cloudservers") == "/v1/pid/cloudservers/"
    assert canonical_uri("/a b/c~d/") == "/a%20b/c~d/"


segment = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), max_size=12)
query_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=10)
header_name = st.from_regex(r"\A[a-z][a-z0-9_-]{0,12}\Z").filter(
    lambda n: n not in {"host", "x-sdk-date", "authorization", "content-type", "x-sdk-content-sha256"}
)
header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
    segments=st.lists(segment, min_size=1, max_size=5),
    trailing_slash=st.booleans(),
    query=st.dictionaries(query_text, query_text, max_size=4),
    headers=st.dictionaries(header_name, header_value, max_size=4),
    body=st.binary(max_size=200),
    host=st.sampled_from(["ecs.eu-de.otc.t-systems.com", "127.0.0.1:8443"]),
)
def test_agrees_with_official_sdk(
    method: str,
    segments: list[str],
    trailing_slash: bool,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    host: str,
) -> None:
    path = "/" + "/".join(quote(s, safe="~") for s in segments) + ("/" if trailing_slash else "")
    all_headers = {
        **headers,
        "Content-Type": "application/json;charset=UTF-8",
        "X-Sdk-Date": "20240101T000000Z",
    }
    url = f"https://{host}{path}" + (f"?{encode_query(query)}" if query else "")
    ours = sign_request(method, url, all_headers, body, "AKID", "secret-key")

    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        query_params=list(query.items()),
        header_params=dict(all_headers),
        body=body,
    )
    Signer(BasicCredentials("AKID", "secret-key")).sign(request)
    assert ours["Authorization"] == request.header_params["Authorization"]
    assert ours["Host"] == request.header_params["Host"]
