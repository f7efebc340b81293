"""Store errors the workflow can catch without importing SQLAlchemy or a database driver."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or used right now; the message never carries SQL parameters."""


class UnknownRequest(StoreError, LookupError):
    """The request number does not exist."""


class SecretUnreadable(StoreError):
    """A sealed secret exists but no configured key decrypts it; it is left in place."""
