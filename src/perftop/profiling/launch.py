"""Starting a program to profile: `perftop run -- python app.py`.

The program runs as perftop's child, tracked by `perftop.children` so it ends with perftop,
and is then sampled by PID like any other process. The TUI owns the terminal, so the program
reads nothing from it (stdin is /dev/null) and writes its output to a log file instead.
It stays in perftop's process group, as it would under `py-spy record -- python app.py`: see
`perftop.children` for why.
"""

from __future__ import annotations

import os
import subprocess

from perftop import children
from perftop.profiling.backend import ProfilerError

__all__ = ["launch"]


def launch(
    argv: list[str], log_path: str | None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` with stdout and stderr appended to `log_path` (None: discarded), in `env`
    (None: perftop's own environment; `perftop run --memory` adds its tracker's hook).

    Raises ProfilerError with one line of advice when the program cannot be started.
    """
    if not argv:
        raise ProfilerError("nothing to run: give a command after --, e.g. perftop run -- app.py")
    try:
        # Appended, not truncated: an earlier run's output is kept for the person reading it.
        log = open(log_path, "ab") if log_path else open(os.devnull, "wb")  # noqa: SIM115
    except OSError as exc:
        raise ProfilerError(f"cannot write the program's log {log_path}: {exc.strerror}") from None
    with log:
        # The child holds its own copy of the descriptor; ours is closed on leaving.
        try:
            return children.spawn(
                argv,
                kind=children.ChildKind.TARGET,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        except FileNotFoundError:
            raise ProfilerError(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise ProfilerError(f"not executable: {argv[0]}") from None
        except children.ChildrenClosed as exc:
            raise ProfilerError(str(exc)) from None
        except OSError as exc:
            raise ProfilerError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
