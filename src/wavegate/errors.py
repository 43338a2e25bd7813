"""What ends a command early, and the exit codes every command shares.

Exit 0: nothing at or above --fail-on; 1: findings at or above it; 2: usage, configuration or
setup errors (printed as one line by the CLI, never a traceback).
"""

from __future__ import annotations

from wavegate.findings import Result, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FAIL_ON = ("error", "warning", "info", "never")  # --fail-on: a severity, or never


def exit_code(result: Result, fail_on: str) -> int:
    """EXIT_FINDINGS when a finding is at or above `fail_on` (a severity, or "never"), else EXIT_OK."""
    if fail_on == "never":
        return EXIT_OK
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in result.findings) else EXIT_OK


class UsageError(Exception):
    """Bad arguments, input or setup: printed as one line, exit code 2."""


class ConfigError(Exception):
    """A configuration problem: the CLI prints it as one line and exits 2. (wavegate.config's;
    here so that the CLI can catch it without importing the loader.)"""
