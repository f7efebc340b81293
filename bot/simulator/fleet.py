"""The simulated servers: what the fake ECS API lists, resets and reboots.

Passwords are kept only as salted, keyed hashes so a test can check that the
password the bot delivered is the one the "cloud" set, without the simulator
ever holding a password in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

OsType = Literal["Linux", "Windows"]

#: Statuses in which the batch reset is allowed (the seed page: "running or stopped").
RESETTABLE_STATUSES = frozenset({"ACTIVE", "SHUTOFF"})


@dataclass
class SimServer:
    """One fake ECS; mutable so tests can lock it, stop it or remove its plug-in."""

    id: str
    name: str
    status: str = "ACTIVE"
    os_type: OsType = "Linux"
    locked: bool = False
    plugin_installed: bool = True
    addresses: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    password_salt: bytes = field(default=b"", repr=False)
    password_hash: bytes = field(default=b"", repr=False)
    password_changed_at: datetime | None = None
    #: A reset password takes effect only after a (re)start; a successful reboot clears this.
    password_pending_reboot: bool = False

    @property
    def tag_pairs(self) -> dict[str, str]:
        """Tags as a mapping, for filtering by key and value."""
        pairs: dict[str, str] = {}
        for tag in self.tags:
            key, _, value = tag.partition("=")
            pairs[key] = value
        return pairs


class Fleet:
    """All servers of the simulated project, indexed by id (dict lookups, not scans, per request)."""

    def __init__(self, servers: Iterable[SimServer] = ()) -> None:
        self._by_id: dict[str, SimServer] = {}
        self._by_name: dict[str, list[SimServer]] = {}
        # A per-fleet random key: hashes are useless outside this process.
        self._hash_key = secrets.token_bytes(32)
        for server in servers:
            self._index(server)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[SimServer]:
        return iter(self._by_id.values())

    def __contains__(self, server_id: object) -> bool:
        return server_id in self._by_id

    def _index(self, server: SimServer) -> None:
        if server.id in self._by_id:
            raise ValueError(f"duplicate server id {server.id}")
        self._by_id[server.id] = server
        self._by_name.setdefault(server.name, []).append(server)

    def add(
        self,
        name: str,
        *,
        id: str | None = None,
        status: str = "ACTIVE",
        os_type: OsType = "Linux",
        locked: bool = False,
        plugin_installed: bool = True,
        addresses: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> SimServer:
        """Add one server (a random uuid4 id unless given) and return it."""
        server = SimServer(
            id=id or str(uuid.uuid4()),
            name=name,
            status=status,
            os_type=os_type,
            locked=locked,
            plugin_installed=plugin_installed,
            addresses=list(addresses) or [_address_for(len(self._by_id) + 1)],
            tags=list(tags),
        )
        self._index(server)
        return server

    def get(self, server_id: str) -> SimServer | None:
        """The server with this id, or None."""
        return self._by_id.get(server_id)

    def by_name(self, name: str) -> SimServer | None:
        """The first server with exactly this name (ECS names need not be unique), or None."""
        found = self._by_name.get(name)
        return found[0] if found else None

    def set_password(self, server_id: str, password: str) -> None:
        """Store a fresh salted hash of the password; the password itself is dropped."""
        self.set_passwords([server_id], password)

    def set_passwords(self, server_ids: Sequence[str], password: str) -> None:
        """One batch call's password on all its servers: one salt and one hash for the call, as the
        hashing per server was most of the simulator's time on a 1,000-server call."""
        salt = secrets.token_bytes(16)
        digest = self._digest(salt, password)
        now = datetime.now(UTC)
        for server_id in server_ids:
            server = self._by_id[server_id]
            server.password_salt = salt
            server.password_hash = digest
            server.password_changed_at = now
            server.password_pending_reboot = True

    def password_matches(self, server_id: str, password: str) -> bool:
        """True when the password is the one last set on the server (constant-time compare)."""
        server = self._by_id.get(server_id)
        if server is None or not server.password_hash:
            return False
        return hmac.compare_digest(server.password_hash, self._digest(server.password_salt, password))

    def _digest(self, salt: bytes, password: str) -> bytes:
        # blake2b keyed + salted: cheap enough for 10,000 resets, never reversible to the password.
        return hashlib.blake2b(password.encode(), key=self._hash_key, salt=salt, digest_size=32).digest()

    @classmethod
    def generate(
        cls,
        n: int,
        *,
        seed: int = 0,
        windows_share: float = 0.2,
        stopped_share: float = 0.1,
        no_plugin_share: float = 0.05,
        locked_share: float = 0.02,
        name_prefix: str = "web",
    ) -> Fleet:
        """A fleet of n servers named `web-0001`…, identical for the same seed and shares."""
        rng = random.Random(seed)
        envs = ("prod", "staging", "dev")
        teams = ("payments", "search", "platform", "data")
        fleet = cls()
        for i in range(1, n + 1):
            fleet._index(
                SimServer(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    name=f"{name_prefix}-{i:04d}",
                    status="SHUTOFF" if rng.random() < stopped_share else "ACTIVE",
                    os_type="Windows" if rng.random() < windows_share else "Linux",
                    plugin_installed=rng.random() >= no_plugin_share,
                    locked=rng.random() < locked_share,
                    addresses=[_address_for(i)],
                    tags=[f"env={rng.choice(envs)}", f"team={rng.choice(teams)}"],
                )
            )
        return fleet


def _address_for(index: int) -> str:
    """A distinct private IPv4 per server index (10.x.y.z, never .0 or .255)."""
    return f"10.{(index // 62500) % 256}.{(index // 250) % 250}.{index % 250 + 2}"
