"""One exception hierarchy for every way an ECS or IAM call can fail, each with a sentence a human can act on.

How the cloud's answers become these errors (the one table of known codes, the body parser) is
`bot.ecs.error_answers`. A request body is never put into an error: it may carry a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

#: A clock further off the gateway's than this is named when the cloud refuses a signature (the gateway
#: refuses beyond 15 minutes; a few minutes off already says the clock is not kept).
CLOCK_OFFSET_WORTH_NAMING_S = 180.0


#: The gateway's "this API does not exist" codes.
NO_SUCH_API_CODES = frozenset({"APIGW.0101", "APIG.0101"})


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minutes" if minutes >= 2 else f"{seconds:.0f} seconds"


@dataclass(frozen=True, slots=True)
class InternalError:
    """One server's failure inside a batch answer (`internalError`)."""

    server_id: str
    code: str | None
    message: str | None


class EcsError(Exception):
    """Base of every error raised by `bot.ecs`; attributes are safe to log (no secrets)."""

    default_sentence: ClassVar[str] = "the cloud API call failed"
    #: whether the cloud may have acted on a call that failed this way (a reset is then "unknown").
    possibly_applied: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        server_id: str | None = None,
        server_name: str | None = None,
        cloud_message: str | None = None,
        retry_after: float | None = None,
        internal_errors: tuple[InternalError, ...] = (),
    ) -> None:
        self.message = message or self.default_sentence
        self.code = code
        self.http_status = http_status
        self.request_id = request_id
        self.server_id = server_id
        self.server_name = server_name
        self.cloud_message = cloud_message
        self.retry_after = retry_after
        self.internal_errors = internal_errors
        self.may_have_taken_effect: bool = self.possibly_applied
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.server_id and self.server_name:
            subject = f"Server {self.server_id} ({self.server_name})"
        elif self.server_id:
            subject = f"Server {self.server_id}"
        else:
            subject = "ECS API"
        status = f"HTTP {self.http_status}" if self.http_status else None
        if status and status in self.message:  # a bare answer's sentence already names it
            status = None
        details = [d for d in (self.code, status) if d]
        if self.request_id:
            details.append(f"request id {self.request_id}")
        suffix = f" ({', '.join(str(d) for d in details)})" if details else ""
        return f"{subject}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r}, server_id={self.server_id!r}, message={self.message!r})"
        )


class EcsThrottled(EcsError):
    """The cloud asked us to slow down; retried with backoff."""

    default_sentence = "the cloud is throttling requests; try again shortly"


class EcsServerError(EcsError):
    """The cloud failed on its side; retried with backoff."""

    default_sentence = "the cloud had an internal error"
    possibly_applied = True


class EcsBusy(EcsServerError):
    """Ecs.0603: other commands are running; nothing was done, so retrying is safe."""

    possibly_applied = False


class EcsAuthError(EcsError):
    """Credentials are wrong, expired or not permitted for this call; never retried."""

    default_sentence = "the credentials were rejected or lack permission"


class EcsCredentialsRefused(EcsAuthError):
    """The cloud refused the signature or the token itself (401, APIGW.0301): every further call with these
    credentials would be refused too, and five refused signatures in a row lock the access key."""

    default_sentence = "the cloud refused the bot's credentials"
    #: False for a call that was not sent because these credentials had just been refused.
    sent: bool = True

    def explain(self, clock_offset_s: float | None, what_to_check: str) -> None:
        """Say what to check: the bot's clock when it is off the gateway's by more than a few minutes
        (`clock_offset_s`: the bot's minus the gateway's), else the credentials (`what_to_check`)."""
        if clock_offset_s is not None and abs(clock_offset_s) >= CLOCK_OFFSET_WORTH_NAMING_S:
            way = "ahead of" if clock_offset_s > 0 else "behind"
            hint = (
                f"the bot's clock is {_duration(abs(clock_offset_s))} {way} the cloud's (the gateway refuses "
                "signatures more than 15 minutes off): correct the clock (NTP)"
            )
        else:
            hint = f"check {what_to_check}"
        self.message = f"{self.message}; {hint}"
        self.args = (self.message,)

    def not_attempted(self) -> EcsCredentialsRefused:
        """The error of a call that was not sent because these credentials were just refused."""
        unsent = EcsCredentialsRefused(
            f"not attempted: the cloud refused the bot's credentials ({self.message})",
            code=self.code,
            http_status=self.http_status,
            request_id=self.request_id,
        )
        unsent.sent = False
        return unsent


class EcsTlsError(EcsError):
    """The TLS connection to the cloud failed (an untrusted certificate, a failed handshake): a setting to
    fix, not an outage; never retried. Nothing was sent."""

    default_sentence = "the TLS connection to the cloud failed"


class EcsNotFound(EcsError):
    """The server (or job) does not exist in this project."""

    default_sentence = "the server does not exist in this project"


class EcsApiNotFound(EcsError):
    """The API path does not exist at this endpoint: the gateway says so (APIGW.0101, the batch reset was
    removed on some clouds), or a 404 came without the ECS error body (an HTML page, a proxy, a wrong
    endpoint), which says nothing about the server named in the call."""

    default_sentence = "the API is not available at this endpoint"

    @property
    def gateway_says_no_such_api(self) -> bool:
        """True when the cloud's gateway said the API does not exist (the batch reset's fallback applies)."""
        return self.code in NO_SUCH_API_CODES


class EcsBadRequest(EcsError):
    """The cloud refused the request as it stands; never retried."""

    default_sentence = "the cloud refused the request"


class EcsUnavailable(EcsError):
    """The cloud could not be reached or did not answer in time; retried with backoff."""

    default_sentence = "the cloud API could not be reached"

    def __init__(self, message: str | None = None, *, maybe_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent
        self.may_have_taken_effect = maybe_sent


class EcsProtocolError(EcsError):
    """The cloud answered something that is not the documented JSON."""

    default_sentence = "the cloud sent an answer that could not be understood"
    possibly_applied = True


class EcsJobTimeout(EcsError):
    """An asynchronous job did not reach a final state in the time allowed."""

    default_sentence = "the job did not finish in time"
    possibly_applied = True
