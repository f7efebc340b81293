"""Asyncio client for the Huawei Cloud / Open Telekom Cloud ECS API; it knows nothing of Slack or workflow."""

from bot.ecs.auth import (
    AkSkAuthenticator,
    AkSkCredentials,
    Authenticator,
    PasswordCredentials,
    TokenAuthenticator,
)
from bot.ecs.client import EcsClient
from bot.ecs.endpoints import Cloud, Endpoints, default_endpoints
from bot.ecs.error_answers import ERROR_CODES, error_from_response
from bot.ecs.errors import (
    EcsApiNotFound,
    EcsAuthError,
    EcsBadRequest,
    EcsBusy,
    EcsCredentialsRefused,
    EcsError,
    EcsJobTimeout,
    EcsNotFound,
    EcsProtocolError,
    EcsServerError,
    EcsThrottled,
    EcsTlsError,
    EcsUnavailable,
    InternalError,
)
from bot.ecs.gate import CredentialGate
from bot.ecs.listing import ServerListing
from bot.ecs.models import Job, JobStatus, OsType, ResetOutcome, Server, ServerResetResult, SubJob
from bot.ecs.resets import BATCH_LIMIT
from bot.ecs.retry import RetryPolicy
from bot.ecs.signer import sign_request

__all__ = [
    "BATCH_LIMIT",
    "ERROR_CODES",
    "AkSkAuthenticator",
    "AkSkCredentials",
    "Authenticator",
    "Cloud",
    "CredentialGate",
    "EcsApiNotFound",
    "EcsAuthError",
    "EcsBadRequest",
    "EcsBusy",
    "EcsClient",
    "EcsCredentialsRefused",
    "EcsError",
    "EcsJobTimeout",
    "EcsNotFound",
    "EcsProtocolError",
    "EcsServerError",
    "EcsThrottled",
    "EcsTlsError",
    "EcsUnavailable",
    "Endpoints",
    "InternalError",
    "Job",
    "JobStatus",
    "OsType",
    "PasswordCredentials",
    "ResetOutcome",
    "RetryPolicy",
    "Server",
    "ServerListing",
    "ServerResetResult",
    "SubJob",
    "TokenAuthenticator",
    "default_endpoints",
    "error_from_response",
    "sign_request",
]
