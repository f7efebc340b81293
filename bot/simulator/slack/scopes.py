"""OAuth scopes: which the fake's bot token holds (from ``manifest.yml``) and which each method needs.

Slack answers a call whose token lacks every scope the method accepts with ``missing_scope``,
``needed`` (the scope to add) and ``provided`` (what the token has), and reports the token's scopes
in the ``x-oauth-scopes`` header of every answer (the one way to read them, e.g. from ``auth.test``).
Sources: each method's reference page on docs.slack.dev ("Required scopes").
"""

from __future__ import annotations

from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[3] / "manifest.yml"

# Any one of the scopes listed lets the bot token call the method; methods absent need none.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "reactions.add": ("reactions:write",),
    "apps.connections.open": ("connections:write",),
}


def manifest_bot_scopes(path: Path = MANIFEST) -> tuple[str, ...]:
    """The bot scopes ``manifest.yml`` declares: what an install of this app grants its bot token.

    Without the file (an installed package, e.g. the container's demo) every scope above is granted.
    """
    if not path.is_file():
        return tuple(sorted({s for scopes in METHOD_SCOPES.values() for s in scopes}))
    manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    scopes = ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return tuple(str(s) for s in scopes)


def missing_scope(method: str, granted: tuple[str, ...] | frozenset[str]) -> str | None:
    """The scope `method` needs that `granted` lacks (Slack's ``needed``), or None when it may call."""
    accepted = METHOD_SCOPES.get(method)
    if not accepted or method == "apps.connections.open" or any(s in granted for s in accepted):
        return None
    return accepted[0]


def scopes_for(method: str) -> tuple[str, ...]:
    """The scopes `method` accepts (Slack's ``x-accepted-oauth-scopes`` header)."""
    return METHOD_SCOPES.get(method, ())
