"""What the workflow says of a run: pre-flight, the resets, restarts."""

from __future__ import annotations

from collections.abc import Sequence

from bot.ecs import EcsAuthError, EcsError, EcsTlsError

# -- pre-flight -------------------------------------------------------------------------------------------


def preflight_failed(error: EcsError) -> str:
    """The outcome of a pre-flight the cloud itself refused or could not be reached for."""
    if isinstance(error, EcsAuthError):
        how = "was refused by the cloud"
    elif isinstance(error, EcsTlsError):
        how = "could not trust the cloud's certificate"
    else:
        how = "could not reach the cloud"
    return f"The pre-flight check {how}: {error}"


def none_resettable(servers: int) -> str:
    return f"None of the {servers} servers can be reset; see the list."


def some_skipped(failed: int, servers: int) -> str:
    return f"{failed} of {servers} servers cannot be reset and will be skipped."


NO_BATCH_DRY_RUN = "This cloud has no batch reset API: the dry run could not check the servers."
SERVER_LOCKED = "The server is locked."
PLUGIN_MISSING = "The password reset plug-in is not installed on this server."


def cloud_refused_server(message: str | None, code: str | None) -> str:
    """The cloud's own words for one server (scrubbed by the client), with its error code once."""
    text = message or "The cloud refused this server."
    return f"{text} ({code})" if code and code not in text else text


# -- execution and restarts -------------------------------------------------------------------------------

LOST_IN_FLIGHT = (
    "The bot stopped while this server's reset was in flight or about to go: the cloud may or may not "
    "have applied the new password. Try the delivered password; if it fails, request a new reset."
)
NOT_ATTEMPTED = "Not attempted: the bot restarted and could not recover the generated password."


def not_attempted(why: str) -> str:
    return f"Not attempted: {why}"


def finished(ok: int, attempted: int, unknown: int, failed: int, *, resumed: bool, after: str | None) -> str:
    """A finished request's outcome; `after`: what the restart said, or that the password waits for one."""
    parts = [f"{ok} of {attempted} server(s) reset."]
    if unknown:
        parts.append(f"{unknown} unknown.")
    if failed:
        parts.append(f"{failed} failed.")
    if resumed:
        parts.append("Finished after a restart of the bot.")
    if after:
        parts.append(after)
    return " ".join(parts)


EFFECT_AT_NEXT_RESTART = "The new password takes effect after the server's next restart."


def restart_unconfirmed(kind: str, error: object) -> str:
    return f"The {kind} restart could not be confirmed: {error}"


def restarted(
    kind: str, done: Sequence[str], failed: Sequence[tuple[str, str | None]], unconfirmed: Sequence[str]
) -> str:
    """What a `kind` ("soft", "hard") restart did: the servers restarted, those whose job failed (with
    the cloud's reason), those the cloud said nothing of."""
    if not failed and not unconfirmed:
        return f"{len(done)} server(s) restarted ({kind}); the new password is in effect."
    parts = []
    if done:
        parts.append(f"Restarted ({kind}), the new password in effect: {', '.join(done)}.")
    if failed:
        reasons = "; ".join(f"{name} ({reason or 'no reason given'})" for name, reason in failed)
        parts.append(
            f"The {kind} restart failed on {reasons}: "
            "the new password takes effect at the server's next restart."
        )
    if unconfirmed:
        parts.append(
            f"The cloud did not report the restart of {', '.join(unconfirmed)}: it is not confirmed."
        )
    return " ".join(parts)
