"""The process's exit codes, one place for the command line and `serve` (README.md, "Commands").

0 done, or stopped by SIGTERM/SIGINT; 1 a check or the start failed; 2 the configuration has problems
(also those found only once Slack answers, such as a user-group handle it does not have); 3 Slack refuses
a token.
"""

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 3
