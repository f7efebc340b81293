"""Outbound network as enterprises run it: the environment's proxy and a private CA, for the cloud and Slack.

`HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (and their lower-case forms) decide the route of every call, by
one rule, `proxy_for(url)`: the cloud's calls ask it per call, Slack's clients (which read `HTTPS_PROXY`
themselves and ignore `NO_PROXY`) are given its answer for Slack's URL. Trust is the system's CA store plus
`BOT_CA_BUNDLE` (a PEM file, or a directory of PEM files) when set.

The session itself does not read the environment (`trust_env=False`): with `trust_env` aiohttp looks the
proxy and `~/.netrc` up in a worker thread for every request, two thread hand-offs and ~0.3 ms of CPU per
call, and on a loaded machine a wait for that thread (bench/critical_path.py, BENCHMARKS.md).
"""

from __future__ import annotations

import functools
import os
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
    """The bot's one session, trust from `ssl_context`; each call names its proxy (`proxy_for`): the session
    reads no environment (`trust_env` costs two thread hand-offs per call: bench/critical_path.py)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=sock_connect_s),
        connector=aiohttp.TCPConnector(ssl=ssl_context(ca_bundle)),
        trust_env=False,
    )


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url` (None: direct), honouring `NO_PROXY` as aiohttp does
    (`ws`/`wss` take the `http`/`https` proxy). The environment is read at every call; urllib's reading of
    it (~0.1 ms) is cached per scheme, host and the values of the `*_proxy` variables it reads."""
    parts = urlsplit(url)
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.lower().endswith("_proxy")))
    return _proxy(parts.scheme, parts.hostname or "", variables)


@functools.lru_cache(maxsize=64)
def _proxy(scheme: str, host: str, _variables: tuple[tuple[str, str], ...]) -> str | None:
    proxies = urllib.request.getproxies()
    if not host or urllib.request.proxy_bypass(host):
        return None
    return proxies.get({"wss": "https", "ws": "http"}.get(scheme, scheme))


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
