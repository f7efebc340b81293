"""Fernet encryption of passwords held for execution and the one-time reveal, so none rests in clear."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.store.errors import SecretUnreadable

KEY_HELP = (
    "BOT_SECRET_KEY must hold one or more Fernet keys (32 url-safe base64 bytes), comma-separated, newest "
    'first; make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class Sealer:
    """Encrypts with the first key and decrypts with any, so keys can be rotated without losing secrets."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if isinstance(keys, str | bytes):
            raise TypeError("pass a sequence of keys, not a single string")
        if not keys:
            raise ValueError(f"no secret key given. {KEY_HELP}")
        fernets: list[Fernet] = []
        for index, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # Never echo the key itself: it is a secret even when malformed.
                raise ValueError(f"secret key #{index} is not a valid Fernet key. {KEY_HELP}") from None
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)

    def seal(self, plaintext: str) -> bytes:
        """The Fernet token (bytes, AES-128-CBC + HMAC-SHA256, with its time) of `plaintext`, sealed with
        the first key; what the store keeps instead of the secret."""
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def unseal(self, ciphertext: bytes) -> str:
        """The secret sealed in `ciphertext`, read with any configured key (so keys can be rotated).
        Raises SecretUnreadable, whose text names no key and no secret, when none of them opens it."""
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable(
                "a sealed secret cannot be decrypted with any configured key (was BOT_SECRET_KEY rotated "
                "without keeping the old key?)"
            ) from None

    def __repr__(self) -> str:
        return f"Sealer(keys={self._count})"
