"""When and how long to retry a cloud call: throttling, server errors and outages only, within a deadline."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from bot.ecs.errors import EcsError, EcsServerError, EcsThrottled, EcsUnavailable

RETRYABLE: tuple[type[EcsError], ...] = (EcsThrottled, EcsServerError, EcsUnavailable)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How persistent one logical call is; tests use tiny backoffs."""

    max_attempts: int = 5
    deadline_s: float = 120.0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 20.0


class WaitRetryAfterOr(wait_base):
    """Wait what the server asked for in `Retry-After` if it did, else fall back to `fallback`."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, EcsError) and error.retry_after is not None:
            # Honour the server, but never beyond what our own deadline allows (stop_before_delay
            # ends the retries if this wait would cross it).
            return error.retry_after
        return float(self.fallback(retry_state))


def retrying(policy: RetryPolicy, *, spent_s: float = 0.0) -> AsyncRetrying:
    """A tenacity controller for one logical call; re-raises the last error when it gives up.

    `spent_s`: time the call has already used before this controller starts (counts against the deadline).
    """
    return AsyncRetrying(
        retry=retry_if_exception_type(RETRYABLE),
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.deadline_s - spent_s),
        wait=WaitRetryAfterOr(
            wait_random_exponential(multiplier=policy.initial_backoff_s, max=policy.max_backoff_s)
        ),
        reraise=True,
    )


async def call_with_retries(policy: RetryPolicy, attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()` with retries per `policy`: the same attempts, waits and deadline as `retrying`.

    The first attempt runs outside tenacity (most calls succeed at once, and setting up the controller
    costs more CPU than signing the request). Only a retryable failure enters tenacity, which sees that
    failure as its own first attempt (so the attempt count, the backoff and `Retry-After` are unchanged)
    and the time it took as already spent of the deadline. Any other error propagates as tenacity
    (`reraise=True`) would have raised it.
    """
    started = time.monotonic()
    try:
        return await attempt()
    except RETRYABLE as error:
        first: EcsError | None = error
    async for managed in retrying(policy, spent_s=time.monotonic() - started):
        with managed:
            if first is not None:
                failed, first = first, None
                raise failed
            return await attempt()
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
