"""What ends a command early, and the exit codes every command shares.

Exit 0: nothing at or above --fail-on; 1: findings at or above it; 2: usage, configuration or
setup errors (printed as one line by the CLI, never a traceback).
"""

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments, input or setup: printed as one line, exit code 2."""


class ConfigError(Exception):
    """A configuration problem: the CLI prints it as one line and exits 2. (wavegate.config's;
    here so that the CLI can catch it without importing the loader.)"""
