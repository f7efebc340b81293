"""Sealed secrets: encrypted at rest, revealed once to the right user, erased after use or expiry."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from bot.domain import NewRequest, RequestRecord, RevealOutcome
from bot.store import Sealer, SecretUnreadable, Store, UnknownRequest
from bot.store.records import RevealResult

from .conftest import finish

StoreFactory = Callable[..., Awaitable[Store]]
LATER = timedelta(minutes=15)
LEASE = timedelta(seconds=30)


def _lease(now: datetime | None = None) -> tuple[datetime, datetime]:
    """`now` and the lease's end, as `lease_reveal` takes them."""
    now = now or datetime.now(UTC)
    return now, now + LEASE


async def _armed(store: Store, make_request: Callable[..., NewRequest]) -> tuple[RequestRecord, str]:
    """A request whose password "Pa55-word!" is sealed and revealable to U_REQ for LATER."""
    req = (await store.create_request_once(make_request(), [])).request
    await store.seal_secret(req.id, "U_REQ", "Pa55-word!")
    return req, await finish(store, req.id, datetime.now(UTC) + LATER)


async def _take(store: Store, token: str, user_id: str, now: datetime) -> RevealResult:
    """A reveal that was shown: lease, then confirm (what the workflow does when the chat showed it)."""
    result = await store.lease_reveal(token, user_id, *_lease(now))
    if result.outcome is RevealOutcome.LEASED:
        assert result.lease is not None
        assert await store.confirm_reveal(token, result.lease, now)
    return result


async def test_seal_then_unseal_for_recovery(store: Store, make_request: Callable[..., NewRequest]) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    assert await store.unseal_secret(req.id) is None
    token = await store.seal_secret(req.id, "U_REQ", '{"s-1": "Aa1!aaaaaaaa"}')
    assert len(token) >= 32
    assert await store.unseal_secret(req.id) == '{"s-1": "Aa1!aaaaaaaa"}'
    # Sealed but not armed: the token does not reveal anything yet.
    result = await store.lease_reveal(token, "U_REQ", *_lease())
    assert result.outcome is RevealOutcome.NOT_FOUND
    assert result.secret is None
    assert await finish(store, req.id, reveal_until=None) is None  # a run that delivers nothing erases it
    assert await store.unseal_secret(req.id) is None


async def test_sealing_again_replaces_secret_and_token(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    first = await store.seal_secret(req.id, "U_REQ", "first")
    second = await store.seal_secret(req.id, "U_REQ", "second")
    assert first != second
    assert await store.unseal_secret(req.id) == "second"
    assert await finish(store, req.id, datetime.now(UTC) + LATER) == second
    with pytest.raises(UnknownRequest):
        await store.seal_secret(999_999, "U_REQ", "x")


async def test_reveal_once_to_the_requester(store: Store, make_request: Callable[..., NewRequest]) -> None:
    req, token = await _armed(store, make_request)
    now = datetime.now(UTC)

    wrong = await store.lease_reveal(token, "U_INTRUDER", *_lease(now))
    assert wrong.outcome is RevealOutcome.WRONG_USER
    assert wrong.secret is None

    first = await _take(store, token, "U_REQ", now)
    assert first.outcome is RevealOutcome.LEASED
    assert first.secret == "Pa55-word!"
    assert first.request_id == req.id
    assert "Pa55-word!" not in repr(first)
    assert str(first.lease) not in repr(first)

    again = await store.lease_reveal(token, "U_REQ", *_lease(now))
    assert again.outcome is RevealOutcome.ALREADY_REVEALED
    assert again.secret is None
    assert await store.unseal_secret(req.id) is None
    assert (
        await store.lease_reveal("no-such-token", "U_REQ", *_lease(now))
    ).outcome is RevealOutcome.NOT_FOUND


async def test_expired_reveal_and_erasure(store: Store, make_request: Callable[..., NewRequest]) -> None:
    now = datetime.now(UTC)
    old = (await store.create_request_once(make_request(), [])).request
    fresh = (await store.create_request_once(make_request(), [])).request
    unarmed = (await store.create_request_once(make_request(), [])).request
    await store.seal_secret(old.id, "U_REQ", "old-secret")
    await store.seal_secret(fresh.id, "U_REQ", "fresh-secret")
    await store.seal_secret(unarmed.id, "U_REQ", "unarmed-secret")
    old_token = await finish(store, old.id, now - timedelta(seconds=1))
    await finish(store, fresh.id, now + LATER)

    expired = await store.lease_reveal(old_token, "U_REQ", *_lease(now))
    assert expired.outcome is RevealOutcome.EXPIRED
    assert expired.secret is None
    assert await store.erase_expired_reveals(now) == 1
    assert await store.erase_expired_reveals(now) == 0
    assert await store.unseal_secret(old.id) is None
    assert await store.unseal_secret(fresh.id) == "fresh-secret"
    assert await store.unseal_secret(unarmed.id) == "unarmed-secret"  # still needed for recovery
    assert (await store.lease_reveal(old_token, "U_REQ", *_lease(now))).outcome is RevealOutcome.EXPIRED


async def test_canary_password_never_rests_in_clear(
    store: Store,
    make_request: Callable[..., NewRequest],
    dump_database: Callable[[], Awaitable[bytes]],
) -> None:
    canary = "Canary-" + secrets.token_hex(12) + "!"
    req = (await store.create_request_once(make_request(), [])).request
    await store.seal_secret(req.id, "U_REQ", canary)
    await finish(store, req.id, datetime.now(UTC) + LATER)
    await store.add_audit(req.id, "system", "secret.sealed", {"servers": 1})
    await store.close()  # checkpoint nothing away: the scan below also reads the WAL

    dumped = await dump_database()
    assert b"secret.sealed" in dumped  # the dump does see the data, ciphertext included:
    fernet_prefix = b"gAAAAA"
    assert fernet_prefix in dumped or fernet_prefix.hex().encode() in dumped
    for form in (canary.encode(), canary.encode().hex().encode(), base64.b64encode(canary.encode())):
        assert form not in dumped


async def test_key_rotation_old_key_still_decrypts(
    open_store: StoreFactory, make_request: Callable[..., NewRequest]
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = await open_store(secret_keys=[old_key])
    req = (await before.create_request_once(make_request(), [])).request
    await before.seal_secret(req.id, "U_REQ", "sealed-under-old-key")

    rotated = await open_store(secret_keys=[new_key, old_key])
    assert await rotated.unseal_secret(req.id) == "sealed-under-old-key"
    token = await finish(rotated, req.id, datetime.now(UTC) + LATER)

    lost = await open_store(secret_keys=[new_key])
    with pytest.raises(SecretUnreadable):
        await lost.lease_reveal(token, "U_REQ", *_lease())
    # The failed decrypt rolled back (no lease left behind): the right key still reveals it.
    result = await _take(rotated, token, "U_REQ", datetime.now(UTC))
    assert result.secret == "sealed-under-old-key"


def test_sealer_checks_keys_and_hides_them() -> None:
    key = Fernet.generate_key().decode()
    sealer = Sealer([key])
    assert key not in repr(sealer)
    ciphertext = sealer.seal("hunter2")
    assert b"hunter2" not in ciphertext
    assert sealer.unseal(ciphertext) == "hunter2"
    with pytest.raises(ValueError, match="not a valid Fernet key") as caught:
        Sealer(["not-a-key"])
    assert "not-a-key" not in str(caught.value)
    with pytest.raises(ValueError, match="no secret key"):
        Sealer([])
    with pytest.raises(TypeError):
        Sealer(key)  # a str is a Sequence[str]: the runtime check catches it


async def test_a_lease_not_confirmed_erases_nothing(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    """The chat refused to show it: released, the secret is whole and the next click gets it."""
    req, token = await _armed(store, make_request)
    now = datetime.now(UTC)

    first = await store.lease_reveal(token, "U_REQ", *_lease(now))
    assert first.outcome is RevealOutcome.LEASED
    assert first.lease is not None
    busy = await store.lease_reveal(token, "U_REQ", *_lease(now))
    assert busy.outcome is RevealOutcome.BEING_SHOWN, "one click at a time holds it"
    assert busy.secret is None
    assert busy.lease is None
    await store.release_reveal(token, first.lease)
    assert await store.unseal_secret(req.id) == "Pa55-word!"

    second = await store.lease_reveal(token, "U_REQ", *_lease(now))
    assert second.outcome is RevealOutcome.LEASED
    assert second.secret == "Pa55-word!"
    assert second.lease is not None
    assert second.lease != first.lease
    assert not await store.confirm_reveal(token, first.lease, now), "a released lease confirms nothing"
    assert await store.unseal_secret(req.id) == "Pa55-word!"
    assert await store.confirm_reveal(token, second.lease, now)
    assert await store.unseal_secret(req.id) is None


async def test_a_lapsed_lease_frees_the_reveal(store: Store, make_request: Callable[..., NewRequest]) -> None:
    """A click that died while showing (a crash) blocks the reveal only until its lease ends."""
    _, token = await _armed(store, make_request)
    now = datetime.now(UTC)
    dead = await store.lease_reveal(token, "U_REQ", *_lease(now))
    assert dead.lease is not None
    assert (
        await store.lease_reveal(token, "U_REQ", *_lease(now + LEASE / 2))
    ).outcome is RevealOutcome.BEING_SHOWN
    later = await store.lease_reveal(token, "U_REQ", *_lease(now + LEASE))
    assert later.outcome is RevealOutcome.LEASED
    assert later.lease is not None
    assert not await store.confirm_reveal(token, dead.lease, now + LEASE), "the lapsed holder lost it"
    assert await store.confirm_reveal(token, later.lease, now + LEASE)
