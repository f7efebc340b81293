"""`python -m bot.healthcheck`: the container's health check, exit 0 when `/healthz` answers 200.

It asks the address `/healthz` is served on: BOT_HTTP_HOST:BOT_HTTP_PORT, or, when BOT_METRICS_PORT gives
health and metrics their own listener, BOT_METRICS_HOST (default BOT_HTTP_HOST):BOT_METRICS_PORT. A
wildcard address (0.0.0.0, ::, unset) is asked on loopback. Standard library only, so each check starts in
a blink; it prints the problems `/healthz` named, which `docker inspect` / `podman inspect` show under
the health log.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

_WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}  # noqa: S104 - names the wildcard, binds nothing


def healthz_url(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The URL of `/healthz` for the address in `environ`; wildcards become loopback."""
    host = environ.get("BOT_HTTP_HOST", "").strip()
    port = environ.get("BOT_HTTP_PORT", "").strip() or "3000"
    if environ.get("BOT_METRICS_PORT", "").strip():  # health moved to the metrics listener (bot/app.py)
        host = environ.get("BOT_METRICS_HOST", "").strip() or host
        port = environ["BOT_METRICS_PORT"].strip()
    if host in _WILDCARDS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def main() -> int:
    url = healthz_url()
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - http URL built above
            print(f"{url}: {response.status}")
            return 0
    except urllib.error.HTTPError as exc:
        try:
            problems = json.loads(exc.read() or b"{}").get("problems") or {}
        except ValueError:
            problems = {}
        reasons = "; ".join(f"{k}: {v}" for k, v in problems.items()) or exc.reason
        print(f"{url}: {exc.code}: {reasons}")
    except (OSError, ValueError) as exc:
        print(f"{url}: no answer ({exc})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
