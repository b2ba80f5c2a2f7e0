"""The one error type of aigate and its kinds; stdlib only.

Every expected failure is an :class:`AigateError` carrying a message (what went wrong), a hint (the
command that fixes it, or ``None``) and the process exit code. One boundary per program (the client's
CLI, the server's CLI) prints ``message`` and ``hint`` to stderr and exits with ``exit_code``; nothing
else catches these. Messages and hints must never contain a secret.

Exit codes follow BSD ``sysexits.h`` where one fits (69 EX_UNAVAILABLE, 70 EX_SOFTWARE, 77 EX_NOPERM,
78 EX_CONFIG)
and the shell's conventions for a command that cannot run (126) or is not found (127).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of ``aigate`` and ``aigate-server`` (docs/architecture.md and the README, "Exit codes")."""

    OK = 0
    FAILED = 1  # a conflict, a failed `policy check` or `audit verify`
    USAGE = 2
    UNAVAILABLE = 69  # server unreachable and no valid cached approval token
    SOFTWARE = 70  # an internal error (a bug): never 1, which `aigate run` leaves to the tool
    NOPERM = 77  # not approved, denied, revoked, denied repository
    CONFIG = 78  # not logged in, no key for the scope, unsafe enforced settings file
    NOT_EXECUTABLE = 126
    NOT_FOUND = 127
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class AigateError(Exception):
    """An expected failure: ``message`` (one line), ``hint`` (the fix, or None), ``exit_code``."""

    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(AigateError):
    """The command line is wrong (unknown tool, bad duration, conflicting arguments)."""

    exit_code = ExitCode.USAGE


class ConflictError(AigateError):
    """The request clashes with the current state (request already decided, and the like)."""

    exit_code = ExitCode.FAILED


class ServerUnreachable(AigateError):
    """The aigate server could not be reached (connection refused, DNS, timeout, TLS)."""

    exit_code = ExitCode.UNAVAILABLE


class NotApproved(AigateError):
    """Policy or an approver says no: not approved, denied, revoked, denied repository, disabled."""

    exit_code = ExitCode.NOPERM


class ConfigError(AigateError):
    """Configuration is missing or unsafe: not logged in, no key, bad or writable settings file."""

    exit_code = ExitCode.CONFIG


class ToolNotFound(AigateError):
    """The tool's binary is not on PATH."""

    exit_code = ExitCode.NOT_FOUND


class ToolNotExecutable(AigateError):
    """The tool's binary was found but cannot be executed."""

    exit_code = ExitCode.NOT_EXECUTABLE


class SsoNotConfigured(ConfigError):
    """The server has no SSO (``serve`` without ``--oidc-issuer``): log in with an enrollment code."""


class DeviceFlowAnswer(AigateError):
    """A device authorization poll that did not (yet) give a credential; ``code`` is the problem code
    (``authorization-pending``, ``slow-down``, ``expired-token``, ``access-denied``, RFC 8628 3.5)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
