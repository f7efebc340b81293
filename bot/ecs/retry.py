"""When and how long to retry a cloud call: throttling, server errors and outages only, within a deadline."""

from __future__ import annotations

from dataclasses import dataclass

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


def retrying(policy: RetryPolicy) -> AsyncRetrying:
    """A tenacity controller for one logical call; re-raises the last error when it gives up."""
    return AsyncRetrying(
        retry=retry_if_exception_type(RETRYABLE),
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.deadline_s),
        wait=WaitRetryAfterOr(
            wait_random_exponential(multiplier=policy.initial_backoff_s, max=policy.max_backoff_s)
        ),
        reraise=True,
    )
