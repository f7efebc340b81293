"""The password(s) of one execution: generated, serialised only to be sealed (encrypted) by the store,
and what of them the requester gets once the servers are reset."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain import PasswordMode, ServerPhase, ServerRecord
from bot.passwords import generate_password
from bot.workflow.ports import DeliveredSecret


@dataclass(frozen=True)
class SealedPasswords:
    """The password(s) of one execution; serialised only to be encrypted by the store."""

    shared: str | None = field(default=None, repr=False)
    per_server: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def generate(cls, mode: PasswordMode, server_ids: Sequence[str]) -> SealedPasswords:
        if mode == PasswordMode.PER_SERVER:
            return cls(per_server={sid: generate_password() for sid in server_ids})
        return cls(shared=generate_password())

    def dumps(self) -> str:
        return json.dumps({"shared": self.shared, "per_server": dict(self.per_server)})

    @classmethod
    def loads(cls, text: str) -> SealedPasswords:
        data = json.loads(text)
        return cls(shared=data.get("shared"), per_server=data.get("per_server") or {})

    def all(self) -> list[str]:
        return [p for p in [self.shared, *self.per_server.values()] if p]

    def for_server(self, server_id: str) -> str | None:
        return self.per_server.get(server_id, self.shared)


def delivered_secrets(passwords: SealedPasswords, servers: Sequence[ServerRecord]) -> list[DeliveredSecret]:
    """What a request's requester gets: the passwords of servers that were (or may have been) reset."""
    ok = [s for s in servers if s.phase == ServerPhase.SUCCEEDED]
    unknown = [s for s in servers if s.phase == ServerPhase.UNKNOWN]
    secrets: list[DeliveredSecret] = []
    for group, applied in ((ok, True), (unknown, False)):
        if not group:
            continue
        if passwords.shared is not None:
            secrets.append(DeliveredSecret(tuple(s.name for s in group), passwords.shared, applied))
        else:
            secrets += [
                DeliveredSecret((s.name,), pw, applied)
                for s in group
                if (pw := passwords.per_server.get(s.server_id))
            ]
    return secrets
