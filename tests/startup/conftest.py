"""Start-up fixtures; the machinery lives in `support.operator` so test modules can import its helpers."""

from support.operator import bots

__all__ = ["bots"]
