"""Outbound network as enterprises run it: the environment's proxy and a private CA, for the cloud and Slack.

The bot's one `aiohttp.ClientSession` is built here with `trust_env=True`, so `HTTPS_PROXY`, `HTTP_PROXY` and
`NO_PROXY` (and their lower-case forms) apply to every call made through it, as aiohttp reads them per URL.
Trust is the system's CA store plus `BOT_CA_BUNDLE` (a PEM file, or a directory of PEM files) when set.

slack_sdk's clients read `HTTPS_PROXY` themselves and ignore `NO_PROXY`: `slack_proxy` gives them what the
session would use for a URL, so one rule decides for the cloud and for Slack.
"""

from __future__ import annotations

import ssl
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

__all__ = ["describe_proxy", "describe_route", "new_session", "proxy_for", "ssl_context"]

_CERT_SUFFIXES = (".pem", ".crt", ".cer")


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's trust store, plus the CA certificates of `ca_bundle` (a PEM file or a directory).

    Raises `ValueError` naming the path when it holds no readable certificate.
    """
    context = ssl.create_default_context()
    if ca_bundle is None:
        return context
    files = (
        sorted(p for p in ca_bundle.iterdir() if p.suffix.lower() in _CERT_SUFFIXES)
        if ca_bundle.is_dir()
        else [ca_bundle]
    )
    loaded = 0
    for path in files:
        try:
            context.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"BOT_CA_BUNDLE: {path} is not a readable PEM certificate file ({exc})"
            ) from None
        loaded += 1
    if ca_bundle.is_dir():
        context.load_verify_locations(capath=str(ca_bundle))  # hashed names (c_rehash), if any
    if not loaded and not ca_bundle.is_dir():
        raise ValueError(f"BOT_CA_BUNDLE: {ca_bundle} holds no certificate")
    return context


def new_session(ca_bundle: Path | None, *, sock_connect_s: float = 10) -> aiohttp.ClientSession:
    """The bot's one session: proxies from the environment, trust from `ssl_context`."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=sock_connect_s),
        connector=aiohttp.TCPConnector(ssl=ssl_context(ca_bundle)),
        trust_env=True,
    )


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url` (None: direct), honouring `NO_PROXY` as aiohttp does
    (`ws`/`wss` take the `http`/`https` proxy)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    proxies = urllib.request.getproxies()
    if not host or urllib.request.proxy_bypass(host):
        return None
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    return proxies.get(scheme)


def describe_route(url: str, *, reached: bool) -> str:
    """For `doctor`: the route to `url` (direct or which proxy) and, once a call has `reached` it, the TLS
    result (verified, or none for plain http)."""
    tls = ("TLS verified" if reached else "TLS not checked") if url.startswith("https:") else "no TLS (http)"
    return f"{describe_proxy(url)}, {tls}"


def describe_proxy(url: str) -> str:
    """For `doctor`: which proxy a call to `url` goes through, without its credentials."""
    proxy = proxy_for(url)
    if proxy is None:
        return "direct"
    parts = urlsplit(proxy)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return f"via proxy {parts.scheme}://{netloc}"
