"""One HTTP exchange with the cloud: a timeout, network failures turned into `EcsUnavailable` (TLS failures
into `EcsTlsError`, which is a setting to fix and never retried), a DEBUG line.

The log line carries method, path, status, request id and duration: never a body, a query string or a
header value, so neither a password nor a token can reach the logs from here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from bot.ecs.errors import EcsTlsError, EcsUnavailable
from bot.ecs.scrub import NOTHING, Scrubber
from bot.outbound import proxy_for

log = logging.getLogger("bot.ecs")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the cloud sent back."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-Id")


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    timeout_s: float,
    scrub: Scrubber = NOTHING,
) -> Answer:
    """Send one request exactly as signed (the URL is already encoded) and read the whole answer.

    `scrub`: the call's secrets, masked in the one text of the answer's that is logged (the request id).
    """
    started = time.monotonic()
    try:
        async with session.request(
            method,
            URL(url, encoded=True),
            headers=dict(headers),
            data=body or None,
            timeout=aiohttp.ClientTimeout(total=max(timeout_s, 0.001)),
            allow_redirects=False,
            proxy=proxy_for(url),  # the session reads no environment (bot/outbound.py says why)
        ) as response:
            data = await response.read()
            answer = Answer(status=response.status, headers=response.headers, body=data)
    except aiohttp.ClientConnectorCertificateError as exc:
        _log_failure(method, url, started, exc)
        host = exc.host
        raise EcsTlsError(
            f"the certificate of {host} is not trusted; set BOT_CA_BUNDLE to the CA that issued it",
        ) from None
    except aiohttp.ClientSSLError as exc:  # a handshake that failed for another reason
        _log_failure(method, url, started, exc)
        raise EcsTlsError(
            f"the TLS handshake with {urlsplit(url).hostname} failed ({type(exc).__name__})"
        ) from None
    except aiohttp.ClientConnectorError as exc:
        _log_failure(method, url, started, exc)
        raise EcsUnavailable(
            f"the cloud API at {exc.host}:{exc.port} could not be reached", maybe_sent=False
        ) from None
    except aiohttp.ConnectionTimeoutError as exc:
        _log_failure(method, url, started, exc)
        raise EcsUnavailable("connecting to the cloud API timed out", maybe_sent=False) from None
    except TimeoutError as exc:
        _log_failure(method, url, started, exc)
        raise EcsUnavailable(
            f"the cloud API did not answer within {timeout_s:g} s", maybe_sent=True
        ) from None
    except aiohttp.ClientError as exc:
        _log_failure(method, url, started, exc)
        raise EcsUnavailable(
            f"the connection to the cloud API failed ({type(exc).__name__})", maybe_sent=True
        ) from None
    if log.isEnabledFor(logging.DEBUG):  # the arguments cost more than the call (bench/ecs_batch_reset.py)
        log.debug(
            "ecs %s %s -> %s request_id=%s in %.0f ms",
            method,
            urlsplit(url).path,
            answer.status,
            scrub.text(answer.request_id),
            (time.monotonic() - started) * 1000,
        )
    return answer


def _log_failure(method: str, url: str, started: float, exc: BaseException) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "ecs %s %s -> %s in %.0f ms",
            method,
            urlsplit(url).path,
            type(exc).__name__,
            (time.monotonic() - started) * 1000,
        )
