"""The profiler backends perftop knows, in one registry, and the check made before attaching.

A backend declares its name, how to make one, and how to check, before any screen opens,
that it can sample a given process (a refusal then is one line on stderr, not a screen with
an error on it). Adding a backend (memory, another runtime) touches this file and its own
module.

`auto` (the default) picks by what the target is: py-spy for a Python process (it reads the
interpreter's own frames: function, file and line), perf for anything else (native code, JIT
runtimes through their perf maps, the kernel). A whole-machine session is always perf's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped, unused-ignore]

from perftop.profiling.backend import (
    NoSuchProcess,
    ProfilerBackend,
    ProfilerFailed,
    ProfilerOptions,
)
from perftop.profiling.session import ProfileSession

__all__ = [
    "BACKENDS",
    "BackendSpec",
    "check_target",
    "choose_backend",
    "is_python",
    "new_machine_session",
    "new_session",
    "python_under",
]


@dataclass(frozen=True)
class BackendSpec:
    name: str
    factory: Callable[[], ProfilerBackend]
    # Raises ProfilerError (one line of advice) if `pid` cannot be sampled with `options`.
    preflight: Callable[[int, ProfilerOptions], None]


_CHECK_ATTEMPTS = 3


def _pyspy_factory() -> ProfilerBackend:
    from perftop.profiling.pyspy import PySpyBackend

    return PySpyBackend()


def _pyspy_preflight(pid: int, options: ProfilerOptions) -> None:
    from perftop.profiling.pyspy_cli import dump_threads

    if options.subprocesses and not is_python(pid):
        # A launcher followed into its children (`choose_backend`): py-spy's recordings find
        # the Python ones under it, but its dump reads only the PID it is given.
        pid = _python_child(pid) or pid
    attempts = _CHECK_ATTEMPTS
    while True:
        try:
            dump_threads(pid, options=options)
            return
        except ProfilerFailed:
            # py-spy's own failures (not permission, not Python, no such PID) can be a race it
            # lost: "Failed to get stack traces" from a target starting and ending threads by
            # the hundred. The live session retries such a sample; so does this one check.
            attempts -= 1
            if not attempts:
                raise
            time.sleep(0.1)


def _perf_factory() -> ProfilerBackend:
    from perftop.profiling.perf import PerfBackend

    return PerfBackend()


def _perf_preflight(pid: int, options: ProfilerOptions) -> None:
    # perf's own answer is the check: start it on the target, and end it once it samples.
    from perftop.profiling.perf import PerfBackend

    PerfBackend().probe(pid, options)


def _memory_factory() -> ProfilerBackend:
    from perftop.profiling.memory import MemoryBackend

    return MemoryBackend()


def _memory_preflight(pid: int, options: ProfilerOptions) -> None:
    # What can be known without touching the target: injecting takes it a second or two.
    from perftop.profiling.backend import ProfilerFailed
    from perftop.profiling.inject import find_gdb, gdb_call_problem
    from perftop.profiling.memory import MemoryBackend

    MemoryBackend.check_target(pid)
    problem = gdb_call_problem(find_gdb(), ask=False)  # once tried: said here, on the table
    if problem is not None:
        raise ProfilerFailed(problem)


BACKENDS: dict[str, BackendSpec] = {
    "py-spy": BackendSpec("py-spy", _pyspy_factory, _pyspy_preflight),
    "perf": BackendSpec("perf", _perf_factory, _perf_preflight),
    "memory": BackendSpec("memory", _memory_factory, _memory_preflight),
}
DEFAULT_BACKEND = "py-spy"


def is_python(pid: int) -> bool:
    """Whether `pid` runs a Python interpreter: its program is python*, or it has libpython
    mapped (uwsgi, a C program that embeds Python). Another user's process hides both: then its
    command line (which anyone may read) says, so that auto picks py-spy and py-spy says what
    permission it takes, rather than perf refusing for a reason that is not the point."""
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except PermissionError:
        return _named_python(pid)
    except OSError:
        exe = ""
    if _python_name(exe):
        return True
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            for line in maps:
                if b"/libpython" in line:
                    return True
    except PermissionError:
        return _named_python(pid)
    except OSError:
        pass
    return False


def _python_name(name: str) -> bool:
    return name.startswith(("python", "pypy"))


def _named_python(pid: int) -> bool:
    """From what anyone may read: the first word of the command line, or the comm."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0", 1)[0].decode("utf-8", "replace")
        with open(f"/proc/{pid}/comm", "rb") as f:
            comm = f.read().decode("utf-8", "replace").strip()
    except OSError:
        return False
    return _python_name(os.path.basename(argv0)) or _python_name(comm)


def choose_backend(pid: int, options: ProfilerOptions) -> str:
    """The backend that samples `pid` with `options`: the one asked for, or by the target."""
    if options.backend != "auto":
        return options.backend
    if is_python(pid):
        return "py-spy"
    # A launcher (a shell, `uv run`) asked to be followed into its children: py-spy finds
    # the Python ones under it.
    return "py-spy" if options.subprocesses and _python_child(pid) is not None else "perf"


def python_under(pid: int, options: ProfilerOptions) -> str | None:
    """Where auto picked perf for `pid` but a process under it runs Python (`pid` a shell, a
    `uv run` or `timeout` in front of the real program: py-spy would have said "Failed to
    find python version"), the line that says which one to profile instead; else None."""
    if options.backend != "auto" or options.subprocesses or is_python(pid):
        return None
    child = _python_child(pid)
    if child is None:
        return None
    from perftop.profiling.pyspy_cli import process_name  # as the backends: when first needed

    name = process_name(pid)
    return (
        f"PID {pid}{f' ({name})' if name else ''} is not Python, so perf samples it; PID"
        f" {child} under it runs Python: perftop --pid {child}, or --subprocesses for all"
    )


def _python_child(pid: int) -> int | None:
    """The first process under `pid`, at any depth, that runs Python."""
    try:
        under = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return None
    return next((child.pid for child in under if is_python(child.pid)), None)


def command_line(pid: int) -> str:
    """The target's command line, for titles and metadata; empty if it cannot be read."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def check_target(pid: int, options: ProfilerOptions, backend: str | None = None) -> str:
    """Fail before any screen opens: ProfilerError with one line if `pid` cannot be sampled.
    Returns the target's command line."""
    if pid <= 0 or not psutil.pid_exists(pid):
        raise NoSuchProcess(f"no process with PID {pid}")
    BACKENDS[backend or choose_backend(pid, options)].preflight(pid, options)
    return command_line(pid)


def new_session(
    pid: int,
    options: ProfilerOptions,
    *,
    command: str = "",
    backend: str | None = None,
    factory: Callable[[], ProfilerBackend] | None = None,
) -> ProfileSession:
    """A session on `pid`, not yet started; the backend is `backend`, or chosen by
    `choose_backend` (again at each restart, so the settings can switch it). `factory`
    replaces the registry's (tests)."""
    if factory is not None:
        name = backend or (options.backend if options.backend != "auto" else DEFAULT_BACKEND)
        return ProfileSession(pid, options, factory, command=command, source=name)

    def chooser(opts: ProfilerOptions) -> tuple[str, Callable[[], ProfilerBackend]]:
        spec = BACKENDS[backend or choose_backend(pid, opts)]
        return spec.name, spec.factory

    name, made = chooser(options)
    return ProfileSession(pid, options, made, command=command, source=name, chooser=chooser)


def new_machine_session(options: ProfilerOptions) -> ProfileSession:
    """A session sampling every CPU with perf (kernel included), each process its own root."""
    from perftop.profiling.perf import MACHINE_PID, PerfBackend

    return ProfileSession(
        MACHINE_PID,
        options,
        lambda: PerfBackend(machine=True),
        command="all CPUs",
        source="perf",
    )
