"""Outbound network as enterprises run it, over real sockets: the environment's proxy for the cloud and Slack
(NO_PROXY honoured by both), a private CA through BOT_CA_BUNDLE, and TLS failures reported as such."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.fake_cloud import FAST_RETRY, PROJECT
from support.proxy import ForwardProxy
from support.tls import PrivateCa, make_private_ca

from bot.app import slack_web_client
from bot.config import ConfigError, Settings, load_settings
from bot.ecs import AkSkCredentials, EcsClient, EcsTlsError, Endpoints
from bot.ecs.retry import RETRYABLE
from bot.outbound import describe_route, new_session, proxy_for, ssl_context

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
CREDENTIALS = AkSkCredentials(access_key="AK-outbound", secret_key="SK-outbound")


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    forward = ForwardProxy()
    await forward.start()
    yield forward
    await forward.stop()


def both_services() -> web.Application:
    """A cloud's server list and Slack's auth.test, on one fake."""

    async def servers(_: web.Request) -> web.Response:
        return web.json_response({"count": 0, "servers": []})

    async def auth_test(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "user": "bot", "team": "T"})

    app = web.Application()
    app.router.add_get(f"/v1/{PROJECT}/cloudservers/detail", servers)
    app.router.add_post("/api/auth.test", auth_test)
    return app


@pytest.fixture
async def plain() -> AsyncIterator[str]:
    server = TestServer(both_services(), host="127.0.0.1", port=0)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def private_ca(tmp_path: Path) -> PrivateCa:
    return make_private_ca(tmp_path / "pki")


@pytest.fixture
async def tls(private_ca: PrivateCa) -> AsyncIterator[str]:
    server = TestServer(both_services(), host="127.0.0.1", port=0)
    await server.start_server(ssl=private_ca.server_context())
    yield f"https://127.0.0.1:{server.port}"
    await server.close()


def settings_for(base: str, ca_bundle: Path | None = None) -> Settings:
    environ = {"SLACK_API_URL": f"{base}/api/"}
    if ca_bundle is not None:
        environ["BOT_CA_BUNDLE"] = str(ca_bundle)
    return load_settings(environ)


async def cloud_and_slack(base: str, ca_bundle: Path | None = None) -> None:
    """One call to each through the bot's one session, built as the runtime builds it."""
    async with new_session(ca_bundle) as session:
        client = EcsClient(session, Endpoints(ecs=base, iam=base), PROJECT, CREDENTIALS, retry=FAST_RETRY)
        await client.check_access()
        answer = await slack_web_client(session, "xoxb-outbound", settings_for(base, ca_bundle)).auth_test()
        assert answer["ok"] is True


async def test_the_proxy_from_the_environment_carries_cloud_and_slack_calls(
    monkeypatch: pytest.MonkeyPatch, proxy: ForwardProxy, plain: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    await cloud_and_slack(plain)
    assert any(line.startswith(f"GET {plain}/v1/{PROJECT}/cloudservers/detail") for line in proxy.seen)
    assert f"POST {plain}/api/auth.test" in proxy.seen


async def test_no_proxy_sends_both_direct(
    monkeypatch: pytest.MonkeyPatch, proxy: ForwardProxy, plain: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    await cloud_and_slack(plain)
    assert proxy.seen == []  # slack_sdk alone would have sent Slack's call to HTTPS_PROXY
    assert proxy_for(f"{plain}/api/") is None


def test_the_route_follows_the_environment_as_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    # proxy_for caches urllib's reading: a change of any proxy variable must still be seen at once.
    url = "https://ecs.example.com/v1/servers"
    assert proxy_for(url) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert proxy_for(url) == "http://proxy.example:3128"
    monkeypatch.setenv("no_proxy", ".example.com")
    assert proxy_for(url) is None
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example:8080")
    assert proxy_for(url) == "http://other.example:8080"


async def test_https_through_the_proxy_is_a_tunnel_to_a_private_ca_endpoint(
    monkeypatch: pytest.MonkeyPatch, proxy: ForwardProxy, tls: str, private_ca: PrivateCa
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    await cloud_and_slack(tls, private_ca.ca_file)
    assert f"CONNECT {tls.removeprefix('https://')}" in proxy.seen
    assert describe_route(tls, reached=True) == f"via proxy {proxy.url}, TLS verified"


async def test_an_untrusted_certificate_is_reported_as_such_and_not_retried(tls: str) -> None:
    async with new_session(None) as session:
        client = EcsClient(session, Endpoints(ecs=tls, iam=tls), PROJECT, CREDENTIALS, retry=FAST_RETRY)
        with pytest.raises(EcsTlsError) as info:
            await client.check_access()
    assert str(info.value) == (
        "ECS API: the certificate of 127.0.0.1 is not trusted; set BOT_CA_BUNDLE to the CA that issued it"
    )
    assert not isinstance(info.value, RETRYABLE)


async def test_the_ca_bundle_may_be_a_directory(tmp_path: Path, tls: str, private_ca: PrivateCa) -> None:
    bundle = tmp_path / "cas"
    bundle.mkdir()
    (bundle / "private-ca.crt").write_bytes(private_ca.ca_file.read_bytes())
    (bundle / "README").write_text("not a certificate; ignored\n")
    await cloud_and_slack(tls, bundle)


def test_a_ca_bundle_that_is_no_certificate_is_refused_with_its_path(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"BOT_CA_BUNDLE: .*ca\.pem is not a readable PEM"):
        ssl_context(junk)
    with pytest.raises(ConfigError, match=r"BOT_CA_BUNDLE: .*missing\.pem does not exist"):
        settings_for("https://slack.example", tmp_path / "missing.pem")
