"""The process's exit codes, one place for the command line and `serve` (README.md, "Commands"), and the
failure that carries one out of a start.

0 done, or stopped by SIGTERM/SIGINT; 1 a check or the start failed; 2 the configuration has problems
(also those found only once Slack answers, such as a user-group handle it does not have); 3 Slack refuses
a token.
"""

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 3


class StartupFailure(Exception):
    """A known reason the bot cannot start, as one line for the operator, and the exit code to use."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code
