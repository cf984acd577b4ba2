"""Typed errors for acting on processes (signal, renice, detail).

Internals raise these; the UI and the CLI show `message`, one line a person can act on.
"""

from __future__ import annotations


class ProcessError(Exception):
    """Something perftop could not do to a process; `message` is the line to show."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pid = pid


class ProcessGone(ProcessError):
    """The process no longer exists, or its PID now belongs to another process."""

    def __init__(self, pid: int, reused: bool = False) -> None:
        if reused:
            message = f"PID {pid} now belongs to another process; nothing was done"
        else:
            message = f"process {pid} no longer exists"
        super().__init__(message, pid)
        self.reused = reused


class AccessDenied(ProcessError):
    """The kernel refused: perftop runs as another user than the process's owner."""

    def __init__(self, pid: int, action: str = "signal", message: str | None = None) -> None:
        super().__init__(
            message
            or f"permission denied: run as root or as the process owner to {action} PID {pid}",
            pid,
        )
        self.action = action
