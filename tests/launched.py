"""Programs started behind a launcher (`bash -c "...; true"`), for the tests of what perftop
says and does about a PID that is not the Python under it."""

from __future__ import annotations

import psutil  # type: ignore[import-untyped, unused-ignore]


def running(shell: int, program: str) -> int | None:
    """The child of `shell` that runs `program` by now (bash forks, then the child execs)."""
    for child in psutil.Process(shell).children():
        try:
            if child.cmdline()[:1] == [program]:
                return int(child.pid)
        except psutil.Error:
            pass
    return None
