"""What `/healthz` answers: each component reports a named problem while it has one, and clears it after.

The bot is ready when nothing reports a problem. Components (the Socket Mode connection, the Slack token
watch, the database check, and whatever else needs it) only call `report` and `clear`; the operator sees
one WARNING line when a problem appears or changes and one INFO line when it goes away.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["Health"]

log = logging.getLogger(__name__)


class Health:
    """Named problems, e.g. `{"slack_socket": "Socket Mode is not connected to Slack"}`; none means ready."""

    def __init__(self, *, log_changes: bool = True) -> None:
        """`log_changes=False`: a private Health nobody serves (a client's for a one-off check), whose
        changes the caller reports itself; logging them too would say the same thing twice."""
        self._log_changes = log_changes
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._levels: dict[str, int] = {}

    @property
    def logs_changes(self) -> bool:
        """Whether this Health logs what changes (False: a private one whose owner reports itself)."""
        return self._log_changes

    def report(self, component: str, problem: str, *, level: int = logging.WARNING) -> None:
        """`component` is not working because of `problem` (a sentence saying what and what to do).

        `level` is that of the log line, e.g. DEBUG for a state every start goes through ("connecting")."""
        problem = problem.strip() or f"{component} reported a problem without a reason"
        with self._lock:
            changed = self._problems.get(component) != problem
            self._problems[component] = problem
            self._levels[component] = level
        if changed and self._log_changes:
            log.log(level, "not ready: %s: %s", component, problem)

    def clear(self, component: str) -> None:
        """`component` works again (a no-op when it had no problem). Logged at INFO after a problem, at the
        reported level after a passing state ("connecting" at DEBUG): a healthy start says nothing."""
        with self._lock:
            had = self._problems.pop(component, None)
            level = self._levels.pop(component, logging.WARNING)
        if had is not None and self._log_changes:
            log.log(min(level, logging.INFO), "recovered: %s (was: %s)", component, had)

    def problems(self) -> dict[str, str]:
        """A copy of the problems in force, by component name."""
        with self._lock:
            return dict(self._problems)

    @property
    def ready(self) -> bool:
        with self._lock:
            return not self._problems
